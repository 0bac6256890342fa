/** The signed-in user, as `/console/session` answers (the CSRF token stays in api.ts's memory). */
import { api, setCsrf } from "./api.ts";

export interface Session {
  actor: string;
  expiresAt: number;
}

interface SessionAnswer extends Session {
  csrf: string;
}

const keep = (answer: SessionAnswer): Session => (setCsrf(answer.csrf), { actor: answer.actor, expiresAt: answer.expiresAt });

/** The current session (cookie, or Cloudflare Access), or null when signed out. */
export async function currentSession(): Promise<Session | null> {
  try {
    return keep(await api<SessionAnswer>("/console/session"));
  } catch {
    return null;
  }
}

/** Exchanges the admin token (never kept) for a session recorded under `name`. Throws ApiError. */
export async function signIn(token: string, name: string): Promise<Session> {
  return keep(await api<SessionAnswer>("/console/session", { json: { token, name } }));
}

export async function signOut(): Promise<void> {
  await api("/console/session", { method: "DELETE" }).catch(() => undefined);
  setCsrf(null);
}
