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
 * What it costs: a view not yet written is lost if the object is torn down within `delayMs` of
 * counting it (one page view of one session signal; exposures, caps and conversions are written
 * before the selection answers, as before).
 */
export class PendingPageViews {
  private readonly counts = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param write stores counts (category → views to add) in the object's SQLite; called with at
   *   least one category.
   * @param delayMs how long a view may wait for a selection to carry it (ms).
   */
  constructor(
    private readonly write: (counts: Map<string, number>) => void,
    private readonly delayMs = 50,
  ) {}

  /** Counts one view of `category`; it is written by the next `flush`, at the latest after `delayMs`. */
  add(category: string): void {
    this.counts.set(category, (this.counts.get(category) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** `stored` (category → views written) plus the views not written yet. */
  withPending(stored: Record<string, number>): Record<string, number> {
    const views = { ...stored };
    for (const [category, n] of this.counts) views[category] = (views[category] ?? 0) + n;
    return views;
  }

  /** Writes the views counted so far (in the caller's transaction: call it beside other writes). */
  flush(): void {
    this.stopTimer();
    if (this.counts.size === 0) return;
    const counts = new Map(this.counts);
    this.counts.clear();
    this.write(counts);
  }

  /** Forgets the views not written (a new session, erasure, history moved to a customer). */
  drop(): void {
    this.stopTimer();
    this.counts.clear();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
