/**
 * Moments that change with time alone (pure; the visitor's Durable Object arms its alarm with it,
 * worker/visitor/visitor-state.ts). "Cart left for 1 hour", "no visit for 14 days", "plan renews
 * within 30 days" become true while the customer does nothing, so waiting for their next event or
 * decide would start the journey late or never. After each change the object computes the next
 * time any moment could enter or exit with no new event, and its alarm evaluates the moments then
 * (entries and exits are stored and heard by the hooks, ./exits.ts, as for an event: a journey on
 * entry starts, an exit cancels what was scheduled).
 *
 * When can the result change with no new event? Between observations only the clock moves, so:
 *  - a member's `exit.afterSeconds` ends at `enteredAt + afterSeconds` (exact);
 *  - a window's figures change when one of its events leaves it, at `at + within` (exact);
 *  - `events.<w>.ago` crosses a threshold `c` (a number in the condition) at `latest + c` s or
 *    `latest + c + 1` s (exact for comparisons with constants); `ago` in arithmetic (`ago / 60`,
 *    `ago >= 60 * 60`) is also sampled hourly while it has a value and refined, as `now` below;
 *  - a re-entry cooldown ends at `lastExit + cooldownSeconds`;
 *  - a condition reading `now` (e.g. `profile.renewsAt − now < 30 days`) can change at any time:
 *    it is sampled every hour up to the horizon and the first change refined to the second by
 *    bisection (a condition true for less than an hour between two samples can be missed — say so
 *    in the moment's docs), and the object wakes at the horizon to look further.
 * Each candidate time is checked by running the moment's step (./evaluate.ts) on a copy of the
 * state at that time: the answer is the first time a step would enter or exit, not a guess.
 * Only the moments such times exist for are simulated. Moments reading `signals` (what a decide
 * sends) are left to decides (`timed`).
 */
import { numbersIn, readsVar } from "./condition-reads.ts";
import { step, type MomentState, type Observation, type RecentEvent } from "./evaluate.ts";
import { readWindowNames, type Moment, type MomentsConfig } from "./schema.ts";

/** How far ahead a timer looks; an object with a clock-reading moment wakes this often at least. */
export const TIMER_HORIZON_MS = 7 * 86_400_000;
/** Sampling step of conditions that read `now`. */
export const CLOCK_SAMPLE_MS = 3_600_000;
/** Shortest time between two timer runs of one object (a run that changes something re-arms no sooner). */
export const MIN_TIMER_GAP_MS = 60_000;
/** Candidate times simulated per moment (the earliest ones; the timer wakes at the last to look further). */
export const MAX_CANDIDATES = 400;

/** The traits and counters an evaluation without an event sees (the object's own). */
export type TimerContext = Omit<Observation, "now" | "event" | "signals">;

/**
 * Whether the timer evaluates moment `m`: not when its trigger or exit reads `signals` — they are
 * what a decide sends, so without a decide the timer would read them as absent (and, say, exit
 * everyone whose exit rule is "signal no longer there"). Such moments change at decides only.
 */
export function timed(m: Moment): boolean {
  return !readsVar(m.trigger.condition, "signals") && !readsVar(m.exit.condition, "signals");
}

/** The moments the timer evaluates (see `timed`). */
export function timedMoments(config: MomentsConfig): MomentsConfig {
  return { moments: config.moments.filter(timed) };
}

/** Whether any moment can change with time alone (cheap; decides whether a timer is needed at all). */
export function hasTimedMoments(config: MomentsConfig): boolean {
  return config.moments.some((m) => timed(m) && (m.exit.afterSeconds !== undefined || m.trigger.condition !== undefined || m.exit.condition !== undefined));
}

/** Candidate times (ms) in (now, now + horizon] at which moment `m` could change, sorted. */
function candidates(m: Moment, s: MomentState | undefined, recent: readonly RecentEvent[], now: number, horizon: number): { times: number[]; clock: boolean; sampled?: boolean } {
  const out = new Set<number>();
  const add = (t: number) => {
    if (t > now && t <= now + horizon) out.add(t);
  };
  const member = s?.enteredAt != null;
  if (member && m.exit.afterSeconds !== undefined) add(s!.enteredAt! + m.exit.afterSeconds * 1000);
  if (!member && s && s.entries >= m.reentry.maxEntries) return { times: [], clock: false };
  if (!member && s?.lastExit != null && m.reentry.cooldownSeconds > 0) add(s.lastExit + m.reentry.cooldownSeconds * 1000);
  const condition = member ? m.exit.condition : m.trigger.condition;
  if (condition === undefined) return { times: [...out].sort((a, b) => a - b), clock: false };
  const windows = { ...(m.trigger.windows ?? {}), ...(m.exit.windows ?? {}) };
  const constants = numbersIn(condition).filter((c) => c >= 0);
  let sampled = false;
  for (const name of readWindowNames(condition)) {
    const w = windows[name];
    if (!w) continue;
    let latest = -Infinity;
    for (const e of recent) {
      if (e.event !== w.event) continue;
      add(e.at + w.within * 1000);
      if (e.at <= now) latest = Math.max(latest, e.at);
    }
    if (latest > -Infinity) for (const c of constants) (add(latest + c * 1000), add(latest + (c + 1) * 1000));
    // `ago` not compared with a constant as such (`ago / 60 >= 60`, `ago >= 60 * 60`): the
    // constants above miss its threshold, so it is sampled like `now` while it has a value
    // (until the latest event leaves the window), and the change refined to the second.
    if (latest > -Infinity && readsVar(condition, `events.${name}.ago`)) {
      sampled = true;
      for (let t = now + CLOCK_SAMPLE_MS; t < Math.min(now + horizon, latest + w.within * 1000); t += CLOCK_SAMPLE_MS) add(t);
    }
  }
  const clock = readsVar(condition, "now");
  if (clock) {
    for (let t = now + CLOCK_SAMPLE_MS; t <= now + horizon; t += CLOCK_SAMPLE_MS) add(t);
    for (const c of constants) add(c); // absolute thresholds in ms
    add(now + horizon);
  }
  return { times: [...out].sort((a, b) => a - b), clock, sampled: clock || sampled };
}

/** Whether one step of moment `m` at `t` would enter or exit (on a copy of its state). */
function changesAt(m: Moment, s: MomentState | undefined, recent: readonly RecentEvent[], ctx: TimerContext, t: number): boolean {
  const states = new Map(s ? [[m.id, { ...s }]] : []);
  const r = step({ moments: [m] }, states, recent, { ...ctx, now: t });
  return r.entered.length > 0 || r.exited.length > 0;
}

/**
 * The earliest time (ms, ≥ now) at which a step with no new event would enter or exit a moment,
 * or, when a moment reads the clock and nothing changes within the horizon, the time to look
 * again; null when nothing can change with time alone. `states` is not modified.
 */
export function nextMomentCheck(config: MomentsConfig, states: ReadonlyMap<string, MomentState>, recent: readonly RecentEvent[], ctx: TimerContext, now: number, horizon = TIMER_HORIZON_MS): number | null {
  let best: number | null = null;
  for (const m of config.moments) {
    if (!timed(m)) continue;
    const s = states.get(m.id);
    // Already due (the last observation was older than now: events arrive late, a timer was
    // armed long ago): at once.
    if (changesAt(m, s, recent, ctx, now)) return now;
    const { times, clock, sampled } = candidates(m, s, recent, now, horizon);
    let previous = now;
    let found: number | null = null;
    for (const t of times.slice(0, MAX_CANDIDATES)) {
      if (best !== null && t >= best) break;
      if (changesAt(m, s, recent, ctx, t)) {
        found = sampled ? refine(m, s, recent, ctx, previous, t) : t;
        break;
      }
      previous = t;
    }
    // Nothing among the first candidates: look again from the last one (or at the horizon).
    if (found === null && times.length > MAX_CANDIDATES) found = times[MAX_CANDIDATES - 1]!;
    if (found === null && clock && times.length) found = times[Math.min(times.length, MAX_CANDIDATES) - 1]!;
    if (found !== null && (best === null || found < best)) best = found;
  }
  return best;
}

/** The first second in (from, to] at which the step changes, knowing it does at `to` (bisection). */
function refine(m: Moment, s: MomentState | undefined, recent: readonly RecentEvent[], ctx: TimerContext, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (changesAt(m, s, recent, ctx, mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
