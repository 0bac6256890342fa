/**
 * One read shared by the requests of an isolate — safely.
 *
 * Caches that let concurrent requests join one pending read (the kill switch, the catalog and
 * guardrails' last-good cache) meet a workerd rule: a promise whose I/O belongs to one request
 * never settles for the others once that request has ended or was cancelled (a visitor who
 * navigates away aborts their decide). Joined to such a read, every later request waited for
 * ever — seen as a test server whose decides stopped answering after a proxied page was left
 * mid-load. So the request that starts a read keeps itself alive until the read is done
 * (`keepAlive` = its `ctx.waitUntil`, which Cloudflare documents as delaying the cancellation of a
 * request whose client disconnected), and, as a backstop, a request waits on a read it did not
 * start for at most `staleMs` (from when that read started); then it drops it and starts its own.
 */

const STALE = Symbol("stale");

export interface SharedRead<T> {
  /**
   * The pending shared read if there is a young one, else `start()`'s, shared from now on;
   * `keepAlive` (the caller's `ctx.waitUntil`) is given a read this call starts, so its request
   * lives until the read is done.
   */
  (start: () => Promise<T>, keepAlive?: (work: Promise<unknown>) => void): Promise<T>;
  /** Forgets the pending read (the next call starts a new one). */
  reset(): void;
}

/** Creates a shared read; `now` is injectable (ms). */
export function sharedRead<T>(staleMs: number, now: () => number = Date.now): SharedRead<T> {
  let current: { promise: Promise<T>; since: number } | undefined;
  const get = (start: () => Promise<T>, keepAlive?: (work: Promise<unknown>) => void): Promise<T> => {
    if (!current || now() - current.since >= staleMs) {
      const entry: { promise: Promise<T>; since: number } = { promise: Promise.resolve().then(start), since: now() };
      entry.promise = entry.promise.finally(() => {
        if (current === entry) current = undefined;
      });
      current = entry;
      keepAlive?.(entry.promise.catch(() => undefined));
    }
    const joined = current;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<typeof STALE>((resolve) => (timer = setTimeout(() => resolve(STALE), Math.max(0, staleMs - (now() - joined.since)))));
    return Promise.race([joined.promise, timeout]).then(
      (value) => {
        clearTimeout(timer);
        if (value !== STALE) return value as T;
        if (current === joined) current = undefined;
        return get(start, keepAlive);
      },
      (err) => {
        clearTimeout(timer);
        throw err;
      },
    );
  };
  return Object.assign(get, { reset: () => (current = undefined) });
}
