/**
 * What a page writes to the visitor's SQLite — its page view, the session's `last_seen` and the
 * exposures its selection served — kept in the object's memory first and written a moment after
 * the answer, so that neither the page view nor the selection holds up the page.
 *
 * Why: a Durable Object's answer waits until the writes made before it are confirmed (the output
 * gate, https://developers.cloudflare.com/durable-objects/reference/glossary/; in workerd
 * `ActorSqlite::onWrite` locks it until the implicit transaction commits; locally each commit
 * fsyncs the object's SQLite). Measured on the peer bench's page through `/edge` (`wrangler dev`
 * with its inspector relay, timestamps inside the Worker, medians of 100 pages): the selection's
 * call took 4 ms while it wrote its exposures, 1 ms when they were written after its answer; the
 * page view's call 0.8–1.2 ms with its own commit, 0.2–0.3 ms without (without the relay, means
 * of 200 pages). Everything the object answers is computed from its in-memory copy
 * (`VisitorState.load`), which already holds what is pending: caps are exact while the object
 * lives, for concurrent pages too (one object per visitor, single-threaded).
 *
 * What it costs: what is not written yet is lost if the object is torn down (a crash, a deploy,
 * a storage failure) within `delayMs` of a page: that page's exposures — a capped block may then
 * be shown once more than its cap — its page view, and the session's `last_seen` (the rebuilt
 * object may start a new session early, by up to the session timeout less a minute). The same
 * choice as the key-value API's `allowUnconfirmed` (Durable Objects, "Storage API"), for the
 * writes serving needs fast; conversions, impressions corrected by events, erasure, linking,
 * consent withdrawal and account caps write before answering, as before.
 *
 * A session's start (its time, the visit count, clearing the last session's page views) and a new
 * visitor's tables are pending the same way: a session's first page — every first visit — no
 * longer waits for a commit that creates the object's tables. Measured on the peer bench
 * (`../shared/peer-bench`, 64 visitors new to each fresh instance): the 45 of nextbest's 100 timed
 * pages that were a visitor's first totalled 24–42 ms (p50 per run) against 17.6–22.0 ms for
 * returning visitors in the same runs. If the object is torn down within `delayMs` of a session's
 * first page, the next page starts the session again (the visit is counted once) and that first
 * page's view is lost.
 */
import type { Exposure } from "../guardrails/caps.ts";
import { insertRows } from "./sql-rows.ts";

/** Adds `counts` (category → views) to the `session_views` table. */
export function addSessionViews(sql: SqlStorage, counts: Map<string, number>): void {
  insertRows(sql, "INSERT INTO session_views (category, count)", [...counts], "ON CONFLICT (category) DO UPDATE SET count = count + excluded.count");
}

/**
 * What a flush writes: a new session's start (ms) and visit count, when one started (its page
 * views replace the stored ones); views to add per category; the session's `last_seen` (ms) when
 * it moved; exposures served.
 */
export interface PendingWritesBatch {
  session?: PendingSession;
  counts: Map<string, number>;
  lastSeen?: number;
  exposures: Exposure[];
}

/** A session started and not yet written: its start (ms) and the visitor's visit count with it. */
export interface PendingSession {
  start: number;
  visits: number;
}

/**
 * One visitor object's writes not yet made, and the timer that makes them. Not for concurrent
 * objects: one instance per Durable Object.
 */
export class PendingWrites {
  private session: PendingSession | undefined;
  private readonly counts = new Map<string, number>();
  private lastSeen: number | undefined;
  private exposures: Exposure[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param write stores a batch in the object's SQLite (one transaction: the timer's task, or the
   *   caller's call); called only with something to write.
   * @param delayMs how long after the first pending write the timer writes them all (ms).
   */
  constructor(
    private readonly write: (batch: PendingWritesBatch) => void,
    private readonly delayMs = 50,
  ) {}

  /**
   * A new session from `start` (ms), the visitor's `visits`-th: the views counted so far belong to
   * the last session (dropped, and the stored ones are deleted when this is written).
   */
  startSession(start: number, visits: number): void {
    this.session = { start, visits };
    this.counts.clear();
    this.schedule();
  }

  /** The visit count of a session started and not written yet, if any. */
  pendingVisits(): number | undefined {
    return this.session?.visits;
  }

  /** Counts one view of `category`. */
  add(category: string): void {
    this.counts.set(category, (this.counts.get(category) ?? 0) + 1);
    this.schedule();
  }

  /** The session's activity to persist (`last_seen`, ms). */
  seen(lastSeen: number): void {
    this.lastSeen = lastSeen;
    this.schedule();
  }

  /** Exposures a selection served (already in the object's in-memory history). */
  served(exposures: Exposure[]): void {
    if (exposures.length === 0) return;
    this.exposures.push(...exposures);
    this.schedule();
  }

  /**
   * `stored` (category → views written) plus the views not written yet; without `stored` when a
   * session started since (those views are the last session's).
   */
  withPending(stored: Record<string, number>): Record<string, number> {
    const views = this.session ? {} : { ...stored };
    for (const [category, n] of this.counts) views[category] = (views[category] ?? 0) + n;
    return views;
  }

  /** Writes everything pending now (in the caller's transaction when called from a call). */
  flush(): void {
    this.stopTimer();
    if (this.session === undefined && this.counts.size === 0 && this.lastSeen === undefined && this.exposures.length === 0) return;
    const batch: PendingWritesBatch = {
      counts: new Map(this.counts),
      exposures: this.exposures,
      ...(this.session ? { session: this.session } : {}),
      ...(this.lastSeen !== undefined ? { lastSeen: this.lastSeen } : {}),
    };
    this.session = undefined;
    this.counts.clear();
    this.lastSeen = undefined;
    this.exposures = [];
    this.write(batch);
  }

  /** Forgets the session's start, views and activity not written (a new session); exposures stay pending. */
  dropSession(): void {
    this.session = undefined;
    this.counts.clear();
    this.lastSeen = undefined;
    if (this.exposures.length === 0) this.stopTimer();
  }

  /** Forgets everything not written (erasure; history moved to a customer's object, which holds it). */
  dropAll(): void {
    this.stopTimer();
    this.session = undefined;
    this.counts.clear();
    this.lastSeen = undefined;
    this.exposures = [];
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
