// Session signals: which categories this visitor viewed in the current session, how many
// sessions (visits) they had, how long ago the previous one was, and how often they did each
// thing this session (page and product views, tracked actions, friction), counted under the
// event's name. Pure functions over a small state object whose fields are sent as signals as
// they are; storage.ts persists it, and only with personalization consent.

/** A session ends after this long without activity; the next page view starts a new visit. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

/** Keeps a stored session small on a site with many categories (the Worker accepts 50). */
const MAX_CATEGORIES = 50;
/** The Worker's upper bound for one category's views; also caps the counters. */
const MAX_VIEWS = 100_000;
/** The Worker accepts 64 signals in all; the page's own and the known ones take about 15. */
const MAX_FIELDS = 40;
const DAY_MS = 24 * 3600 * 1000;

/** The persisted session state (key `nb:session`). */
export interface SessionState {
  /** Number of sessions of this visitor, the current one included (≥ 1). */
  visitCount: number;
  /** Category → page views in that category in the current session. */
  categoryViews: Record<string, number>;
  /** Epoch milliseconds of the last page view or decide (not sent). */
  lastActivity: number;
  /** Whole days from the end of the previous session to the start of this one. */
  recencyDays?: number;
  /** The last search term of the session (at most 200 characters). */
  lastSearch?: string;
  /**
   * Counters of the current session, each sent as a custom signal named after its event:
   * `page_view`, `product_view`, tracked actions (`add_to_cart`, `search`, `purchase`, any other
   * name given to `nextbest.track()`) and friction (`rage_click`, `dead_click`, …).
   */
  [counter: string]: unknown;
}

/**
 * True if a value read back from storage looks like a SessionState (storage can be stale or
 * tampered with). Only the fields arithmetic depends on are checked: anything else that is wrong
 * makes the Worker refuse the request, which leaves the default content, as any failure does.
 */
export function isSessionState(value: unknown): value is SessionState {
  const state = value as SessionState;
  return Number.isInteger(state?.visitCount) && typeof state.lastActivity === "number";
}

/** Adds one to `counts[key]` (at most MAX_VIEWS), unless that would make more than `maxKeys` keys. */
function bump<T extends Record<string, unknown>>(counts: T, key: string, maxKeys: number): T {
  const count = +(counts[key] as number) || 0; // 0 for inherited names such as "constructor"
  return count || Object.keys(counts).length < maxKeys ? { ...counts, [key]: Math.min(MAX_VIEWS, count + 1) } : counts;
}

/** Adds one to a session counter. Returns a new state. */
export function countIn(state: SessionState, counter: string): SessionState {
  return bump(state, counter, MAX_FIELDS);
}

/**
 * Counts a page view: continues the previous session if it was active within
 * SESSION_TIMEOUT_MS, otherwise starts a new visit with empty category views and counters.
 * A product page also counts as a product view. Returns a new state; `previous` is not modified.
 */
export function recordPageView(previous: SessionState | undefined, category: string | undefined, now: number, product = false): SessionState {
  let state: SessionState =
    previous && now - previous.lastActivity <= SESSION_TIMEOUT_MS
      ? { ...previous, lastActivity: now }
      : { visitCount: (previous?.visitCount ?? 0) + 1, categoryViews: {}, lastActivity: now, recencyDays: previous && Math.floor((now - previous.lastActivity) / DAY_MS) };
  if (category) state.categoryViews = bump(state.categoryViews ?? {}, category, MAX_CATEGORIES);
  state = countIn(state, "page_view");
  return product ? countIn(state, "product_view") : state;
}

/** Marks activity without counting a page view (a later decide on the same page). */
export function touchSession(state: SessionState, now: number): SessionState {
  return { ...state, lastActivity: Math.max(state.lastActivity, now) };
}
