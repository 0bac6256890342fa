import { DurableObject } from "cloudflare:workers";
import { WINDOW_MS, type Exposure } from "../guardrails/caps.ts";
import { selectSlots, type SelectionInput, type SlotPick, type VisitorHistory } from "../decide/select.ts";

/** Options of one selection call. */
export interface SelectOptions {
  now: number;
  sessionTimeoutMs: number;
}

/**
 * Per-visitor state (one Durable Object per visitor, named by `visitorKey(visitorId)`):
 * exposures for frequency caps (a week of timestamps, pruned, plus lifetime counters), the
 * session, and campaigns converted on. Only called for visitors with personalisation consent, so
 * nothing is written here without it.
 *
 * `select` reads the history, runs the pure selection and records the served blocks with
 * synchronous SQLite calls and no await in between: the Durable Object runs it atomically, so
 * concurrent decides for one visitor cannot exceed a cap.
 */
export class VisitorState extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.createTables();
  }

  private createTables(): void {
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS exposures (at INTEGER NOT NULL, block_id TEXT NOT NULL, campaign TEXT NOT NULL, personalized INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS exposures_at ON exposures (at);
      CREATE TABLE IF NOT EXISTS lifetime (key TEXT PRIMARY KEY, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS converted (campaign TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
  }

  private meta(key: string): number | undefined {
    const row = this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value;
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  /** Loads the history, starting a new session after `sessionTimeoutMs` of inactivity. */
  private history(now: number, sessionTimeoutMs: number): VisitorHistory {
    const lastSeen = this.meta("last_seen");
    let sessionStart = this.meta("session_start") ?? now;
    if (lastSeen === undefined || now - lastSeen > sessionTimeoutMs) sessionStart = now;
    this.setMeta("session_start", sessionStart);
    this.setMeta("last_seen", Math.max(now, lastSeen ?? now));
    const recent = this.sql
      .exec<{ at: number; block_id: string; campaign: string; personalized: number }>(
        "SELECT at, block_id, campaign, personalized FROM exposures WHERE at > ?",
        now - WINDOW_MS.week,
      )
      .toArray()
      .map((r) => ({ at: r.at, blockId: r.block_id, campaign: r.campaign, personalized: r.personalized === 1 }));
    const lifetime: Record<string, number> = {};
    for (const r of this.sql.exec<{ key: string; count: number }>("SELECT key, count FROM lifetime")) lifetime[r.key] = r.count;
    const converted = this.sql.exec<{ campaign: string }>("SELECT campaign FROM converted").toArray().map((r) => r.campaign);
    return { recent, sessionStart, lifetime, converted };
  }

  private record(exposures: Exposure[]): void {
    for (const e of exposures) {
      this.sql.exec("INSERT INTO exposures (at, block_id, campaign, personalized) VALUES (?, ?, ?, ?)", e.at, e.blockId, e.campaign, e.personalized ? 1 : 0);
      const keys = [`block:${e.blockId}`, `campaign:${e.campaign}`, ...(e.personalized ? ["global"] : [])];
      for (const key of keys) this.sql.exec("INSERT INTO lifetime (key, count) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET count = count + 1", key);
    }
  }

  /** Applies caps and page rules, chooses per slot, records what is served. Atomic. */
  select(input: SelectionInput, options: SelectOptions): SlotPick[] {
    const history = this.history(options.now, options.sessionTimeoutMs);
    const before = history.recent.length;
    const picks = selectSlots(input, history, options.now);
    this.record(history.recent.slice(before));
    // Timestamps older than the longest sliding window are no longer needed (lifetime counters stay).
    this.sql.exec("DELETE FROM exposures WHERE at <= ?", options.now - WINDOW_MS.week);
    return picks;
  }

  /** Remembers a conversion on a campaign (for the already-converted exclusion). */
  markConverted(campaign: string, at: number): void {
    this.sql.exec("INSERT INTO converted (campaign, at) VALUES (?, ?) ON CONFLICT (campaign) DO NOTHING", campaign, at);
  }

  /** Exposures currently remembered (for tests and the admin API). */
  exposureCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM exposures").one().n;
  }

  /** Deletes everything stored for this visitor; returns how many records were removed. */
  async erase(): Promise<{ records: number }> {
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    const records = count("exposures") + count("lifetime") + count("converted");
    await this.ctx.storage.deleteAll();
    this.createTables();
    return { records };
  }
}
