/**
 * The moment hooks: other features register a listener to hear when a visitor or customer leaves
 * or enters a moment — worker/index.ts registers worker/activation/'s exit listener, which cancels
 * the outbound actions scheduled for the moment (e.g. once the customer converted), and
 * worker/journeys/'s entry listener, which starts a moment's journey (`onEntry.nextAction`).
 *
 * Listeners run inside the visitor's Durable Object right after the change is stored (the object
 * keeps running them with `waitUntil`), once per exit or entry, with:
 *  - `env`: the object's bindings;
 *  - `key`: the object's name — `visitorKey(visitorId)` (32 hex) for an anonymous visitor, or the
 *    customer object's name (`customer:<key>`, worker/identity/keys.ts) for a linked one;
 *  - the moment: its id (exits) or its configuration (entries); `at`: ms of the change.
 * A listener that throws is logged and does not stop the others.
 */
import type { Moment } from "./schema.ts";

/** Hears one change of a moment `T` (an id or a configuration) for the object `key`. */
export type MomentListener<T> = (env: Env, key: string, moment: T, at: number) => void | Promise<void>;
/** Hears one exit. */
export type MomentExitListener = MomentListener<string>;
/** Hears one entry, with the moment's configuration. */
export type MomentEntryListener = MomentListener<Moment>;

/** A list of listeners and the call that tells them, in registration order. */
function hook<T>(what: string, idOf: (moment: T) => string) {
  const listeners: MomentListener<T>[] = [];
  return {
    /** Registers a listener; returns a function that removes it. */
    on(listener: MomentListener<T>): () => void {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    /** Tells every listener about the changes (no-op without listeners). */
    async notify(env: Env, key: string, moments: readonly T[], at: number): Promise<void> {
      if (listeners.length === 0 || moments.length === 0) return;
      for (const moment of moments) {
        for (const listener of [...listeners]) {
          try {
            await listener(env, key, moment, at);
          } catch (err) {
            console.error(`moment ${what} listener failed (${idOf(moment)}):`, err instanceof Error ? err.message : err);
          }
        }
      }
    },
  };
}

const exits = hook<string>("exit", (id) => id);
const entries = hook<Moment>("entry", (m) => m.id);

/** Registers an exit listener; returns a function that removes it. */
export const onMomentExit = exits.on;
/** Tells every exit listener about the exits. */
export const notifyExits = exits.notify;
/** Registers an entry listener; returns a function that removes it. */
export const onMomentEntry = entries.on;
/** Tells every entry listener about the entries. */
export const notifyEntries = entries.notify;
