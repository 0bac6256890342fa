/**
 * Alert delivery (issue 15): one webhook per severity, one alert per incident change, delivered
 * by the cron (never on a request path) with retries and a record of every attempt in D1
 * (`alert_deliveries`, `alert_attempts`, migrations/0013).
 *
 * Configuration (environment variables):
 * - `ALERT_WEBHOOK_WARN`, `ALERT_WEBHOOK_ALERT`: the URL for incidents of that severity (unset: no
 *   alert of that severity). The same URL for both is fine.
 * - `ALERT_WEBHOOK_FORMAT`: `slack` (default; Slack incoming webhooks) or `generic` (./payload.ts),
 *   or per severity `ALERT_WEBHOOK_WARN_FORMAT` / `ALERT_WEBHOOK_ALERT_FORMAT`.
 *
 * Retries: any answer other than 2xx (or a failed request, or none within 10 s) is retried after
 * base × 2^(attempt−1) — with the default base of 30 s (`ALERT_RETRY_BASE_SECONDS`): 30 s, 1, 2,
 * 4, 8 min — in practice at the next five-minute cron after that, up to 6 attempts; then the
 * delivery is `failed`.
 */
import type { IncidentChange } from "../incidents/store.ts";
import { alertBody, type AlertFormat } from "./payload.ts";

export const MAX_ATTEMPTS = 6;
export const RETRY_BASE_MS = 30_000;
const TIMEOUT_MS = 10_000;

/** Where alerts of one severity go. */
export interface Webhook {
  url: string;
  format: AlertFormat;
}

/** Sends one alert; tests pass a recording function, production `fetch`. */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

const formatOf = (value: unknown, fallback: AlertFormat): AlertFormat => (value === "generic" || value === "slack" ? value : fallback);

/** The webhooks per severity from the bindings. */
export function webhooksFromEnv(env: object): Partial<Record<"warn" | "alert", Webhook>> {
  const v = env as Record<string, unknown>;
  const base = formatOf(v.ALERT_WEBHOOK_FORMAT, "slack");
  const out: Partial<Record<"warn" | "alert", Webhook>> = {};
  for (const severity of ["warn", "alert"] as const) {
    const name = `ALERT_WEBHOOK_${severity.toUpperCase()}`;
    const url = v[name];
    if (typeof url === "string" && /^https?:\/\//i.test(url.trim())) out[severity] = { url: url.trim(), format: formatOf(v[`${name}_FORMAT`], base) };
  }
  return out;
}

/** Queues one delivery per change to the webhook of the incident's severity; returns how many. */
export async function queueAlerts(db: D1Database, changes: IncidentChange[], webhooks: Partial<Record<"warn" | "alert", Webhook>>, now: number): Promise<number> {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO alert_deliveries (change_id, incident_id, severity, url, format, body, status, attempts, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
  );
  const statements = changes.flatMap((c) => {
    const hook = webhooks[c.incident.severity];
    return hook ? [insert.bind(c.changeId, c.incident.id, c.incident.severity, hook.url, hook.format, alertBody(hook.format, c), now, now)] : [];
  });
  if (statements.length) await db.batch(statements);
  return statements.length;
}

/** Delay before attempt `attempt + 1` after `attempt` failed, ms. */
export const retryDelay = (attempt: number, baseMs = RETRY_BASE_MS) => baseMs * 2 ** (attempt - 1);

/** ALERT_RETRY_BASE_SECONDS (≥ 0), else the default 30 s; in ms. */
export function retryBaseFromEnv(env: object): number {
  const raw = (env as Record<string, unknown>).ALERT_RETRY_BASE_SECONDS;
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= 86_400 ? n * 1000 : RETRY_BASE_MS;
}

/**
 * Sends every pending delivery that is due (`next_at <= now`), oldest first, at most `limit`;
 * records each attempt. Returns counts of this pass.
 */
export async function deliverDue(db: D1Database, now: number, send: Send = fetch, limit = 50, retryBaseMs = RETRY_BASE_MS): Promise<{ delivered: number; retrying: number; failed: number }> {
  const { results } = await db
    .prepare("SELECT id, url, format, body, attempts FROM alert_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?")
    .bind(now, limit)
    .all<{ id: number; url: string; format: AlertFormat; body: string; attempts: number }>();
  const counts = { delivered: 0, retrying: 0, failed: 0 };
  for (const d of results) {
    const attempt = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await send(d.url, { method: "POST", headers: { "content-type": "application/json" }, body: d.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      status = res.status;
      await res.body?.cancel();
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
    }
    const ok = error === null;
    const next = ok ? "delivered" : attempt >= MAX_ATTEMPTS ? "failed" : "pending";
    counts[ok ? "delivered" : next === "failed" ? "failed" : "retrying"]++;
    await db.batch([
      db.prepare("INSERT OR IGNORE INTO alert_attempts (delivery_id, attempt, status_code, error, at) VALUES (?, ?, ?, ?, ?)").bind(d.id, attempt, status, error, now),
      db.prepare("UPDATE alert_deliveries SET status = ?, attempts = ?, next_at = ? WHERE id = ?").bind(next, attempt, ok ? now : now + retryDelay(attempt, retryBaseMs), d.id),
    ]);
  }
  return counts;
}

/** A delivery and its attempts, for the admin API. */
export interface DeliveryView {
  id: number;
  changeId: number;
  severity: string;
  url: string;
  format: AlertFormat;
  status: "pending" | "delivered" | "failed";
  attempts: Array<{ attempt: number; statusCode: number | null; error: string | null; at: number }>;
  nextAt: number;
}

/** The deliveries of some incidents, with every attempt. */
export async function deliveriesOf(db: D1Database, incidentIds: number[]): Promise<Map<number, DeliveryView[]>> {
  const out = new Map<number, DeliveryView[]>();
  if (!incidentIds.length) return out;
  const ids = JSON.stringify(incidentIds);
  const [deliveries, attempts] = await db.batch([
    db.prepare("SELECT id, change_id, incident_id, severity, url, format, status, next_at FROM alert_deliveries WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY id").bind(ids),
    db.prepare("SELECT a.delivery_id, a.attempt, a.status_code, a.error, a.at FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id WHERE d.incident_id IN (SELECT value FROM json_each(?)) ORDER BY a.delivery_id, a.attempt").bind(ids),
  ]);
  type D = { id: number; change_id: number; incident_id: number; severity: string; url: string; format: AlertFormat; status: DeliveryView["status"]; next_at: number };
  type A = { delivery_id: number; attempt: number; status_code: number | null; error: string | null; at: number };
  for (const d of deliveries!.results as D[]) {
    const list = out.get(d.incident_id) ?? [];
    list.push({
      id: d.id,
      changeId: d.change_id,
      severity: d.severity,
      url: d.url.replace(/^(https?:\/\/[^/]+).*/i, "$1/…"),
      format: d.format,
      status: d.status,
      nextAt: d.next_at,
      attempts: (attempts!.results as A[]).filter((a) => a.delivery_id === d.id).map((a) => ({ attempt: a.attempt, statusCode: a.status_code, error: a.error, at: a.at })),
    });
    out.set(d.incident_id, list);
  }
  return out;
}
