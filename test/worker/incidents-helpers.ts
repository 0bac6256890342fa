import { env } from "cloudflare:workers";
import type { Send } from "../../worker/alerts/deliver.ts";
import { expireKillSwitchCache } from "../../worker/kill-switch/store.ts";
import { call } from "./helpers.ts";

export const ADMIN = { authorization: "Bearer test-admin-token" };
export const db = env.DB;

/** A day no other test file writes aggregates for (the checks read the window before `now`). */
export const NOW = Date.UTC(2031, 2, 12, 12);
export const TODAY = "2031-03-12";
/** The baseline days: the seven before the window (the 24 h before NOW overlap 03-11 and 03-12). */
export const DAYS_BEFORE = ["2031-03-04", "2031-03-05", "2031-03-06", "2031-03-07", "2031-03-08", "2031-03-09", "2031-03-10"];

/** Empties everything the governance run reads and writes for the test days. */
export async function resetGovernance(): Promise<void> {
  await db.batch([
    ...["incidents", "incident_changes", "alert_deliveries", "alert_attempts", "kill_switch"].map((t) => db.prepare(`DELETE FROM ${t}`)),
    db.prepare("DELETE FROM agg_decision_health WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM agg_eligibility WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM agg_exposures WHERE day >= '2031-01-01'"),
    db.prepare("DELETE FROM dead_letters WHERE time >= ?").bind(Date.UTC(2031, 0, 1)),
  ]);
  expireKillSwitchCache();
}

/** Decisions of one day by reason and fallback cause. */
export function health(day: string, rows: Array<[reason: string, cause: string, n: number]>) {
  return db.batch(rows.map(([reason, cause, n]) => db.prepare("INSERT INTO agg_decision_health (day, model, reason, cause, decisions) VALUES (?, 'm@1', ?, ?, ?)").bind(day, reason, cause, n)));
}

/** Blocks considered on one day: `eligible` in the pool, the rest excluded by reason. */
export function eligibility(day: string, eligible: number, excluded: Record<string, number>) {
  const rows: Array<[string, number]> = [["", eligible], ...Object.entries(excluded)];
  return db.batch(rows.map(([reason, n]) => db.prepare("INSERT INTO agg_eligibility (day, slot, block_id, reason, n) VALUES (?, 'hero', 'b1', ?, ?)").bind(day, reason, n)));
}

/** `control` and `treatment` visitors exposed in an experiment on one day. */
export async function exposures(day: string, experiment: string, treatment: number, control: number) {
  const rows: Array<[string, number]> = [...[...Array(treatment).keys()].map((i): [string, number] => [`t${i}`, 0]), ...[...Array(control).keys()].map((i): [string, number] => [`c${i}`, 1])];
  for (let i = 0; i < rows.length; i += 50)
    await db.batch(
      rows.slice(i, i + 50).map(([v, c]) => db.prepare("INSERT INTO agg_exposures (experiment, day, visitor_key, slot, model, first_time, decisions, control) VALUES (?, ?, ?, 'hero', '', 0, 1, ?)").bind(experiment, day, `${experiment}-${v}`, c)),
    );
}

/** Dead letters stored at `time`. */
export function deadLetters(time: number, count: number) {
  return db.batch([...Array(count).keys()].map((i) => db.prepare("INSERT INTO dead_letters (source_id, time, kind, records, attempts, error, body) VALUES (?, ?, 'decisions', 3, 4, 'boom', '{}')").bind(`gov-dl-${time}-${i}`, time)));
}

/** A receiver standing in for the webhook endpoint: answers `statuses` in turn (then 200), records every request. */
export function receiver(statuses: number[] = []) {
  const received: Array<{ url: string; body: unknown }> = [];
  const send: Send = async (url, init) => {
    received.push({ url, body: JSON.parse(String(init.body)) });
    return new Response("ok", { status: statuses.shift() ?? 200 });
  };
  return { received, send };
}

/** An admin request with JSON. */
export function admin(path: string, method = "GET", body?: unknown, headers: Record<string, string> = {}) {
  return call(path, { method, headers: { ...ADMIN, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
}
