/**
 * Incidents in D1 (migrations/0013): one row per (kind, subject) problem while it lasts, every
 * state change in `incident_changes` with who and when. `reconcile` is the only writer of the
 * cron; `act` is the admin's (acknowledge, resolve).
 */
import { AppError } from "../errors/app-error.ts";
import type { Finding, FindingReport } from "./finding.ts";

export type IncidentState = "open" | "acknowledged" | "resolved";
export type Severity = Finding["severity"];
/** What a change did: a new incident, a warn that became an alert, an admin's or the cron's action. */
export type ChangeKind = "opened" | "escalated" | "acknowledged" | "resolved";

/** An incident as the admin API answers it. */
export interface Incident {
  id: number;
  kind: string;
  subject: string;
  severity: Severity;
  model: string | null;
  figures: Finding["figures"];
  state: IncidentState;
  /** ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
  updatedBy: string;
  updatedAt: number;
}

/** One state change, with the incident as it stands after it. */
export interface IncidentChange {
  changeId: number;
  change: ChangeKind;
  actor: string;
  note: string | null;
  at: number;
  incident: Incident;
}

interface Row {
  id: number;
  kind: string;
  subject: string;
  severity: Severity;
  model: string | null;
  figures: string;
  state: IncidentState;
  first_seen: number;
  last_seen: number;
  updated_by: string;
  updated_at: number;
}

const toIncident = (r: Row): Incident => ({
  id: r.id,
  kind: r.kind,
  subject: r.subject,
  severity: r.severity,
  model: r.model,
  figures: JSON.parse(r.figures),
  state: r.state,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

const COLS = "id, kind, subject, severity, model, figures, state, first_seen, last_seen, updated_by, updated_at";
const RANK: Record<Severity, number> = { warn: 1, alert: 2 };
/** The actor of the cron's own changes. */
export const SYSTEM_ACTOR = "system";

const key = (kind: string, subject: string) => `${kind}\u0000${subject}`;

/** One finding per (kind, subject): the most severe (the first of equals). */
function strongest(findings: Finding[]): Map<string, Finding> {
  const out = new Map<string, Finding>();
  for (const f of findings) {
    const k = key(f.kind, f.subject);
    const seen = out.get(k);
    if (!seen || RANK[f.severity] > RANK[seen.severity]) out.set(k, f);
  }
  return out;
}

async function recordChange(db: D1Database, incident: Incident, change: ChangeKind, actor: string, note: string | null, at: number): Promise<IncidentChange> {
  const row = await db
    .prepare("INSERT INTO incident_changes (incident_id, change, state, severity, actor, note, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
    .bind(incident.id, change, incident.state, incident.severity, actor, note, at)
    .first<{ id: number }>();
  return { changeId: row!.id, change, actor, note, at, incident };
}

/**
 * Applies one run's findings: a finding opens an incident for its (kind, subject), or updates the
 * active one (last seen, figures); a warn becoming an alert is a change (`escalated`, and an
 * acknowledged incident is open again); an alert found again as a warn keeps its severity (the
 * highest while active). Active incidents of a kind in `report.kinds` that nothing found any more
 * are resolved by `system`. Returns the changes, in order, for the alerts.
 */
export async function reconcile(db: D1Database, report: FindingReport, now: number): Promise<IncidentChange[]> {
  const { results } = await db.prepare(`SELECT ${COLS} FROM incidents WHERE state != 'resolved'`).all<Row>();
  const active = new Map(results.map((r) => [key(r.kind, r.subject), toIncident(r)]));
  const found = strongest(report.findings);
  const checked = new Set(report.kinds);
  const changes: IncidentChange[] = [];
  const touch: D1PreparedStatement[] = [];
  for (const [k, f] of found) {
    const current = active.get(k);
    const figures = JSON.stringify(f.figures);
    if (!current) {
      const row = await db
        .prepare(`INSERT INTO incidents (kind, subject, severity, model, figures, state, first_seen, last_seen, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) RETURNING ${COLS}`)
        .bind(f.kind, f.subject, f.severity, f.model ?? null, figures, now, now, SYSTEM_ACTOR, now)
        .first<Row>();
      changes.push(await recordChange(db, toIncident(row!), "opened", SYSTEM_ACTOR, null, now));
    } else if (RANK[f.severity] > RANK[current.severity]) {
      const row = await db
        .prepare(`UPDATE incidents SET severity = ?, model = COALESCE(?, model), figures = ?, state = 'open', last_seen = ?, updated_by = ?, updated_at = ? WHERE id = ? RETURNING ${COLS}`)
        .bind(f.severity, f.model ?? null, figures, now, SYSTEM_ACTOR, now, current.id)
        .first<Row>();
      changes.push(await recordChange(db, toIncident(row!), "escalated", SYSTEM_ACTOR, null, now));
    } else {
      touch.push(db.prepare("UPDATE incidents SET figures = ?, last_seen = ? WHERE id = ?").bind(figures, now, current.id));
    }
  }
  if (touch.length) await db.batch(touch);
  for (const [k, incident] of active) {
    if (found.has(k) || !checked.has(incident.kind)) continue;
    const row = await db
      .prepare(`UPDATE incidents SET state = 'resolved', updated_by = ?, updated_at = ? WHERE id = ? AND state != 'resolved' RETURNING ${COLS}`)
      .bind(SYSTEM_ACTOR, now, incident.id)
      .first<Row>();
    if (row) changes.push(await recordChange(db, toIncident(row), "resolved", SYSTEM_ACTOR, "no longer found", now));
  }
  return changes;
}

/** Filters of the incident list. */
export interface IncidentQuery {
  state?: IncidentState;
  kind?: string;
  /** First seen at or after / before, ms. */
  from?: number;
  to?: number;
  limit: number;
}

/** Incidents, newest first, with their changes. */
export async function listIncidents(db: D1Database, q: IncidentQuery): Promise<Array<Incident & { changes: Omit<IncidentChange, "incident">[] }>> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.state) where.push("state = ?") && args.push(q.state);
  if (q.kind) where.push("kind = ?") && args.push(q.kind);
  if (q.from !== undefined) where.push("first_seen >= ?") && args.push(q.from);
  if (q.to !== undefined) where.push("first_seen < ?") && args.push(q.to);
  const sql = `SELECT ${COLS} FROM incidents ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY first_seen DESC, id DESC LIMIT ?`;
  const { results } = await db.prepare(sql).bind(...args, q.limit).all<Row>();
  if (!results.length) return [];
  const changes = await db
    .prepare("SELECT id, incident_id, change, actor, note, at FROM incident_changes WHERE incident_id IN (SELECT value FROM json_each(?)) ORDER BY id")
    .bind(JSON.stringify(results.map((r) => r.id)))
    .all<{ id: number; incident_id: number; change: ChangeKind; actor: string; note: string | null; at: number }>();
  return results.map((r) => ({
    ...toIncident(r),
    changes: changes.results.filter((c) => c.incident_id === r.id).map((c) => ({ changeId: c.id, change: c.change, actor: c.actor, note: c.note, at: c.at })),
  }));
}

/**
 * An admin's action on an incident: `acknowledge` (open → acknowledged) or `resolve` (open or
 * acknowledged → resolved; the next run opens a new incident if the problem is still found).
 * Errors: `not_found`; `conflict` when the incident is not in a state the action applies to.
 */
export async function act(db: D1Database, id: number, action: "acknowledge" | "resolve", actor: string, note: string | null, now: number): Promise<IncidentChange> {
  const from = action === "acknowledge" ? ["open"] : ["open", "acknowledged"];
  const to: IncidentState = action === "acknowledge" ? "acknowledged" : "resolved";
  const row = await db
    .prepare(`UPDATE incidents SET state = ?, updated_by = ?, updated_at = ? WHERE id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING ${COLS}`)
    .bind(to, actor, now, id, JSON.stringify(from))
    .first<Row>();
  if (!row) {
    const exists = await db.prepare("SELECT state FROM incidents WHERE id = ?").bind(id).first<{ state: string }>();
    if (!exists) throw new AppError("not_found", `no incident ${id}`);
    throw new AppError("conflict", `incident ${id} is ${exists.state}: cannot ${action} it`);
  }
  return recordChange(db, toIncident(row), action === "acknowledge" ? "acknowledged" : "resolved", actor, note, now);
}

/**
 * The governance KPI (the seed's "incident rate"): incidents opened per week over the last
 * `weeks` full 7-day periods ending at `now`, oldest first, and their mean.
 */
export async function incidentRate(db: D1Database, now: number, weeks = 8): Promise<{ weeks: Array<{ from: number; to: number; opened: number }>; meanPerWeek: number }> {
  const WEEK = 7 * 86_400_000;
  const start = now - weeks * WEEK;
  const { results } = await db
    .prepare("SELECT CAST((first_seen - ?) / ? AS INTEGER) AS w, COUNT(*) AS n FROM incidents WHERE first_seen >= ? AND first_seen < ? GROUP BY 1")
    .bind(start, WEEK, start, now)
    .all<{ w: number; n: number }>();
  const out = Array.from({ length: weeks }, (_, i) => ({ from: start + i * WEEK, to: start + (i + 1) * WEEK, opened: results.find((r) => r.w === i)?.n ?? 0 }));
  return { weeks: out, meanPerWeek: out.reduce((a, w) => a + w.opened, 0) / weeks };
}
