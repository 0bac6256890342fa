/**
 * What a VisitorState Durable Object keeps about moments, in its own SQLite (the thin methods are
 * in worker/visitor/visitor-state.ts):
 *  - `moment_state`: per moment, when the current membership started (NULL: not a member), the
 *    entries so far and the last exit (re-entry limits);
 *  - `moment_events`: the recent events the configured triggers and exits read — only the event
 *    names they name, only for the longest configured window, at most MAX_RECENT_EVENTS — and
 *    only ever written for events sent with personalisation consent (callers check), erased with
 *    the object (`deleteAll`);
 *  - `moment_seen`: the ids of the events observed within the same window, so a resent event
 *    (a retried beacon: the events route answers it as accepted and the log consumer stores it
 *    once) is not counted twice in a trigger's window;
 *  - `moment_timer`: when the object's alarm evaluates the moments next (./timer.ts) and the
 *    object's name the hooks are told (the alarm has no caller to say it).
 * Synchronous SQLite only, so a method of the object stays atomic. Tables are created on the first
 * write, as the object's own.
 */
import { hasTables as hasAllTables, insertRows } from "../visitor/sql-rows.ts";
import type { MomentsConfig } from "./schema.ts";
import { longestWindowMs, memberships, neededEvents, step, type MomentMembership, type MomentState, type Observation, type RecentEvent } from "./evaluate.ts";

/** Most recent events kept per visitor/customer. */
export const MAX_RECENT_EVENTS = 500;

/** The moment state in memory (one copy per object instance: it is the only writer). */
export interface MomentsMemory {
  states: Map<string, MomentState>;
  recent: RecentEvent[];
  /** Ids of the events observed (→ when, ms). */
  seen: Map<string, number>;
}

function hasTables(sql: SqlStorage): boolean {
  return sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'moment_state'").toArray().length > 0;
}

const MOMENT_TABLES = ["moment_state", "moment_events", "moment_seen", "moment_timer"];

function createTables(sql: SqlStorage): void {
  // Reads call this too: a read when the tables exist.
  if (hasAllTables(sql, MOMENT_TABLES)) return;
  sql.exec(`
    CREATE TABLE IF NOT EXISTS moment_state (id TEXT PRIMARY KEY, entered_at INTEGER, entries INTEGER NOT NULL, last_exit INTEGER);
    CREATE TABLE IF NOT EXISTS moment_events (at INTEGER NOT NULL, event TEXT NOT NULL, category TEXT, slot TEXT, block_id TEXT);
    CREATE TABLE IF NOT EXISTS moment_seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS moment_timer (id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL, at INTEGER NOT NULL);
  `);
}

/** Reads the state (empty, and nothing created, when the object has none). */
export function loadMoments(sql: SqlStorage): MomentsMemory {
  if (!hasTables(sql)) return { states: new Map(), recent: [], seen: new Map() };
  createTables(sql); // objects from before moment_seen get it
  const states = new Map<string, MomentState>();
  for (const r of sql.exec<{ id: string; entered_at: number | null; entries: number; last_exit: number | null }>("SELECT id, entered_at, entries, last_exit FROM moment_state")) {
    states.set(r.id, { id: r.id, enteredAt: r.entered_at, entries: r.entries, lastExit: r.last_exit });
  }
  const recent = sql
    .exec<{ at: number; event: string; category: string | null; slot: string | null; block_id: string | null }>("SELECT at, event, category, slot, block_id FROM moment_events ORDER BY at")
    .toArray()
    .map((r) => ({ at: r.at, event: r.event, ...(r.category ? { category: r.category } : {}), ...(r.slot ? { slot: r.slot } : {}), ...(r.block_id ? { blockId: r.block_id } : {}) }));
  const seen = new Map(sql.exec<{ id: string; at: number }>("SELECT id, at FROM moment_seen").toArray().map((r) => [r.id, r.at] as const));
  return { states, recent, seen };
}

function save(sql: SqlStorage, mem: MomentsMemory, ids: readonly string[]): void {
  for (const id of new Set(ids)) {
    const s = mem.states.get(id)!;
    sql.exec(
      "INSERT INTO moment_state (id, entered_at, entries, last_exit) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET entered_at = excluded.entered_at, entries = excluded.entries, last_exit = excluded.last_exit",
      id, s.enteredAt, s.entries, s.lastExit,
    );
  }
}

/** Keeps the events the configuration needs, and drops those past the longest window or the count bound. */
function remember(sql: SqlStorage, mem: MomentsMemory, config: MomentsConfig, events: readonly RecentEvent[], now: number): void {
  const needed = neededEvents(config);
  const kept = events.filter((e) => needed.has(e.event));
  if (kept.length) {
    createTables(sql);
    mem.recent.push(...kept);
    insertRows(sql, "INSERT INTO moment_events (at, event, category, slot, block_id)", kept.map((e) => [e.at, e.event, e.category ?? null, e.slot ?? null, e.blockId ?? null]));
  }
  const horizon = now - longestWindowMs(config);
  forgetSeen(sql, mem, horizon);
  if (mem.recent.length && (mem.recent[0]!.at <= horizon || mem.recent.length > MAX_RECENT_EVENTS)) {
    mem.recent = mem.recent.filter((e) => e.at > horizon).slice(-MAX_RECENT_EVENTS);
    const oldest = mem.recent[0]?.at;
    if (oldest === undefined) sql.exec("DELETE FROM moment_events");
    else sql.exec("DELETE FROM moment_events WHERE at < ? OR at <= ?", oldest, horizon);
  }
}

/** Notes an event id as observed; false when it was already (a resent event). */
function firstSighting(sql: SqlStorage, mem: MomentsMemory, id: string, at: number, record: boolean): boolean {
  if (mem.seen.has(id)) return false;
  mem.seen.set(id, at);
  if (record) {
    createTables(sql);
    sql.exec("INSERT OR IGNORE INTO moment_seen (id, at) VALUES (?, ?)", id, at);
  }
  return true;
}

/** Forgets ids older than the longest window (a resend that late counts as a new event), and past the count bound. */
function forgetSeen(sql: SqlStorage, mem: MomentsMemory, horizon: number): void {
  if (mem.seen.size === 0) return;
  const old = [...mem.seen].filter(([, at]) => at <= horizon);
  const excess = Math.max(0, mem.seen.size - old.length - 2 * MAX_RECENT_EVENTS);
  if (old.length === 0 && excess === 0) return;
  for (const [id] of old) mem.seen.delete(id);
  const dropped = [...mem.seen].sort((a, b) => a[1] - b[1]).slice(0, excess);
  for (const [id] of dropped) mem.seen.delete(id);
  sql.exec("DELETE FROM moment_seen WHERE at <= ?", horizon);
  if (dropped.length) sql.exec("DELETE FROM moment_seen WHERE at <= ?", dropped[dropped.length - 1]![1]);
}

/** What an observation changed, and the memberships after it. */
export interface MomentsUpdate {
  entered: string[];
  exited: string[];
  moments: MomentMembership[];
}

/**
 * Applies observations in order (events of a batch one by one, or one decide): remembers the
 * needed events, advances every moment, stores what changed. `record: false` (debug decides)
 * works on a copy and stores nothing.
 */
export function observe(sql: SqlStorage, mem: MomentsMemory, config: MomentsConfig, observations: readonly Observation[], record = true): MomentsUpdate {
  const work = record ? mem : { states: new Map([...mem.states].map(([k, v]) => [k, { ...v }])), recent: [...mem.recent], seen: new Map(mem.seen) };
  const entered: string[] = [];
  const exited: string[] = [];
  for (const o of observations) {
    if (o.event) {
      if (o.event.id !== undefined && !firstSighting(sql, work, o.event.id, o.now, record)) continue;
      if (record) remember(sql, work, config, [o.event], o.now);
      else if (neededEvents(config).has(o.event.event)) work.recent.push(o.event);
    }
    const r = step(config, work.states, work.recent, o);
    entered.push(...r.entered);
    exited.push(...r.exited);
    if (record && (r.entered.length || r.exited.length)) {
      createTables(sql);
      save(sql, work, [...r.entered, ...r.exited]);
    }
  }
  return { entered, exited, moments: memberships(config, work.states) };
}

/** Removes the moment state (a visitor linked to a customer: the customer's object keeps its own). */
export function clearMoments(sql: SqlStorage): void {
  if (hasTables(sql)) sql.exec("DELETE FROM moment_state; DELETE FROM moment_events; DELETE FROM moment_seen; DELETE FROM moment_timer");
}

/** The armed moment timer: the object's name and when (ms); undefined when none. */
export function readMomentTimer(sql: SqlStorage): { key: string; at: number } | undefined {
  if (!hasTables(sql)) return undefined;
  createTables(sql); // objects from before moment_timer get it
  return sql.exec<{ key: string; at: number }>("SELECT key, at FROM moment_timer").toArray()[0];
}

/** Records the armed timer (`at` ms), or that none is armed. */
export function writeMomentTimer(sql: SqlStorage, timer: { key: string; at: number } | undefined): void {
  createTables(sql);
  if (timer) sql.exec("INSERT INTO moment_timer (id, key, at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET key = excluded.key, at = excluded.at", timer.key, timer.at);
  else sql.exec("DELETE FROM moment_timer");
}
