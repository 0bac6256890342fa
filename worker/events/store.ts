import type { StoredEvent } from "./schema.ts";

/** Where events go. `insert` reports, per event, whether it was new (false: a duplicate id). */
export interface EventStore {
  insert(events: StoredEvent[]): Promise<boolean[]>;
}

/** In-memory store for unit tests. */
export function memoryEventStore(): EventStore & { events: StoredEvent[] } {
  const events: StoredEvent[] = [];
  const ids = new Set<string>();
  return {
    events,
    async insert(batch) {
      return batch.map((e) => {
        if (ids.has(e.id)) return false;
        ids.add(e.id);
        events.push({ ...e });
        return true;
      });
    },
  };
}

const INSERT =
  "INSERT OR IGNORE INTO events (id, time, type, name, decision_id, visitor_key, block_id, slot, value, currency) " +
  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/**
 * D1 store: one statement per event in one batch (one round trip, one transaction, so a batch is
 * stored whole or not at all); `INSERT OR IGNORE` on the id drops duplicates, within the batch
 * as well as against earlier ones, and `changes` tells which were new.
 */
export function d1EventStore(db: D1Database): EventStore {
  const insert = db.prepare(INSERT);
  return {
    async insert(batch) {
      if (batch.length === 0) return [];
      const results = await db.batch(
        batch.map((e) => insert.bind(e.id, e.time, e.type, e.name, e.decisionId, e.visitorKey, e.blockId, e.slot, e.value, e.currency)),
      );
      return results.map((r) => (r.meta.changes ?? 0) > 0);
    },
  };
}

/** Deletes a visitor's events; returns how many. */
export async function eraseVisitorEvents(db: D1Database, visitorKey: string): Promise<number> {
  const res = await db.prepare("DELETE FROM events WHERE visitor_key = ?").bind(visitorKey).run();
  return res.meta.changes ?? 0;
}
