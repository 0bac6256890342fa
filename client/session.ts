// Session signals: which categories this visitor viewed in the current session and how many
// sessions (visits) they had. Pure functions over a small state object; storage.ts persists
// it, and only with personalization consent.

/** A session ends after this long without activity; the next page view starts a new visit. */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

/** Keeps a stored session small on a site with many categories (the Worker accepts 50). */
const MAX_CATEGORIES = 50;
/** The Worker's upper bound for one category's views. */
const MAX_VIEWS = 100_000;

/** The persisted session state (key `nb:session`). */
export interface SessionState {
  /** Number of sessions of this visitor, the current one included (≥ 1). */
  visitCount: number;
  /** Category → page views in that category in the current session. */
  categoryViews: Record<string, number>;
  /** Epoch milliseconds of the last page view or decide. */
  lastActivity: number;
}

/** True if a value read back from storage has the SessionState shape (storage can be stale or tampered with). */
export function isSessionState(value: unknown): value is SessionState {
  const state = value as SessionState;
  return (
    typeof state === "object" && state !== null &&
    Number.isInteger(state.visitCount) && state.visitCount >= 1 &&
    typeof state.lastActivity === "number" &&
    typeof state.categoryViews === "object" && state.categoryViews !== null &&
    Object.values(state.categoryViews).every((views) => Number.isInteger(views) && views > 0)
  );
}

/**
 * Counts a page view: continues the previous session if it was active within
 * SESSION_TIMEOUT_MS, otherwise starts a new visit with empty category views.
 * Returns a new state; `previous` is not modified.
 */
export function recordPageView(previous: SessionState | undefined, category: string | undefined, now: number): SessionState {
  const continues = previous !== undefined && now - previous.lastActivity <= SESSION_TIMEOUT_MS;
  const categoryViews = continues ? { ...previous.categoryViews } : {};
  if (category && (category in categoryViews || Object.keys(categoryViews).length < MAX_CATEGORIES)) {
    categoryViews[category] = Math.min(MAX_VIEWS, (categoryViews[category] ?? 0) + 1);
  }
  const visitCount = continues ? previous.visitCount : (previous?.visitCount ?? 0) + 1;
  return { visitCount, categoryViews, lastActivity: now };
}

/** Marks activity without counting a page view (a later decide on the same page). */
export function touchSession(state: SessionState, now: number): SessionState {
  return { ...state, lastActivity: Math.max(state.lastActivity, now) };
}
