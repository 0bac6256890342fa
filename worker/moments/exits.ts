/**
 * The exit hook: other features register a listener to hear when a visitor or customer leaves a
 * moment — worker/index.ts registers worker/activation/'s, which cancels the outbound actions
 * scheduled for the moment (e.g. once the customer converted).
 *
 * Listeners run inside the visitor's Durable Object right after the exit is stored (the object
 * keeps running them with `waitUntil`), once per exit, with:
 *  - `env`: the object's bindings;
 *  - `key`: the object's name — `visitorKey(visitorId)` (32 hex) for an anonymous visitor, or the
 *    customer object's name (`customer:<key>`, worker/identity/keys.ts) for a linked one;
 *  - `momentId`: the moment left; `at`: ms of the exit.
 * A listener that throws is logged and does not stop the others.
 */

/** Hears one exit. */
export type MomentExitListener = (env: Env, key: string, momentId: string, at: number) => void | Promise<void>;

const listeners: MomentExitListener[] = [];

/** Registers a listener; returns a function that removes it. */
export function onMomentExit(listener: MomentExitListener): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/** Tells every listener about the exits (no-op without listeners). */
export async function notifyExits(env: Env, key: string, momentIds: readonly string[], at: number): Promise<void> {
  if (listeners.length === 0 || momentIds.length === 0) return;
  for (const id of momentIds) {
    for (const listener of [...listeners]) {
      try {
        await listener(env, key, id, at);
      } catch (err) {
        console.error(`moment exit listener failed (${id}):`, err instanceof Error ? err.message : err);
      }
    }
  }
}
