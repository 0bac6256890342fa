/**
 * The session's page views per category (edge proxy mode), counted in memory first and written
 * to the visitor's SQLite a moment later, so that counting a view does not hold up the decision.
 *
 * Why: a Durable Object's answer waits until the writes made before it are confirmed (the output
 * gate, https://developers.cloudflare.com/durable-objects/reference/glossary/; in workerd
 * `ActorSqlite::onWrite` locks it until the implicit transaction commits). The page view's answer
 * (the session signals the model ranks with) does not need its own write to be durable, and the
 * selection call that follows it on the same page writes the exposures anyway: written there, the
 * view shares that commit — one commit a page instead of two. Measured locally (`wrangler dev`
 * without its inspector relay, the peer bench's page, timestamps inside the Worker, means of 200
 * pages): the page view call 0.8–1.2 ms with its own commit, 0.2–0.3 ms without. Writing it with
 * the key-value API's `allowUnconfirmed` instead gained nothing there (0.8–1.3 ms).
 *
 * The session's `last_seen` (persisted a minute ahead, at most once a minute) is deferred the same
 * way, except on a session's first page.
 *
 * What it costs: what is not written yet is lost if the object is torn down within `delayMs` of
 * a page view that no selection followed (a visitor in the control group; a selection writes it
 * in its own commit): one page view of a session signal, and the session's `last_seen` — the
 * stored one is then older, so the rebuilt object may start a new session early, by up to the
 * session timeout less a minute. A session's first page writes its start, visit count and
 * `last_seen` before answering (it commits anyway). Exposures, caps and conversions are written
 * before the selection answers, as before.
 */
import { insertRows } from "./sql-rows.ts";

/** Adds `counts` (category → views) to the `session_views` table. */
export function addSessionViews(sql: SqlStorage, counts: Map<string, number>): void {
  insertRows(sql, "INSERT INTO session_views (category, count)", [...counts], "ON CONFLICT (category) DO UPDATE SET count = count + excluded.count");
}

/** What a flush writes: views to add per category and, when it moved, the session's `last_seen` (ms). */
export interface PageViewWrites {
  counts: Map<string, number>;
  lastSeen?: number;
}

/**
 * One visitor object's page views and `last_seen` not yet written, and the timer that writes them
 * if no selection does first. Not for concurrent objects: one instance per Durable Object.
 */
export class PendingPageViews {
  private readonly counts = new Map<string, number>();
  private lastSeen: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param write stores what was counted in the object's SQLite; called with at least one
   *   category or a `lastSeen`.
   * @param delayMs how long a view may wait for a selection to carry it (ms).
   */
  constructor(
    private readonly write: (writes: PageViewWrites) => void,
    private readonly delayMs = 50,
  ) {}

  /** Counts one view of `category`; it is written by the next `flush`, at the latest after `delayMs`. */
  add(category: string): void {
    this.counts.set(category, (this.counts.get(category) ?? 0) + 1);
    this.schedule();
  }

  /**
   * The session's activity to persist (`last_seen`, ms), written like the views: a visitor's
   * pages a minute or more apart would otherwise each wait for this write.
   */
  seen(lastSeen: number): void {
    this.lastSeen = lastSeen;
    this.schedule();
  }

  /** `stored` (category → views written) plus the views not written yet. */
  withPending(stored: Record<string, number>): Record<string, number> {
    const views = { ...stored };
    for (const [category, n] of this.counts) views[category] = (views[category] ?? 0) + n;
    return views;
  }

  /** Writes what was counted so far (in the caller's transaction: call it beside other writes). */
  flush(): void {
    this.stopTimer();
    if (this.counts.size === 0 && this.lastSeen === undefined) return;
    const writes: PageViewWrites = { counts: new Map(this.counts), ...(this.lastSeen !== undefined ? { lastSeen: this.lastSeen } : {}) };
    this.counts.clear();
    this.lastSeen = undefined;
    this.write(writes);
  }

  /** Forgets what was not written (a new session, erasure, history moved to a customer). */
  drop(): void {
    this.stopTimer();
    this.counts.clear();
    this.lastSeen = undefined;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
