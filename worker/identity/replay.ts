/**
 * Replay protection of identify tokens: each `jti` is used once. Kept in D1 until the token
 * expires (then it could not be replayed anyway); the daily cron deletes expired ones. The insert
 * is the check (primary key), so two concurrent uses of one token cannot both pass.
 */
import { AppError } from "../errors/app-error.ts";

/** Records the token id; throws 409 `conflict` if it was used before. */
export async function useTokenOnce(db: D1Database, jti: string, expiresAt: number): Promise<void> {
  const result = await db.prepare("INSERT INTO identify_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING").bind(jti, expiresAt).run();
  if (result.meta.changes !== 1) throw new AppError("conflict", "token: already used (replay)");
}

/** Deletes ids of tokens expired before `now` (the retention cron); returns how many. */
export async function pruneUsedTokens(db: D1Database, now: number): Promise<number> {
  return (await db.prepare("DELETE FROM identify_tokens WHERE expires_at < ?").bind(now).run()).meta.changes;
}
