import type { VisitorStateClient } from "../decide/decide.ts";
import { selectSlots, type VisitorHistory } from "../decide/select.ts";

/**
 * In-memory visitor state for unit tests: the same selection as the Durable Object, with the
 * histories in a Map. `calls` counts who was asked, to check consent keeps visitors out.
 */
export function memoryVisitorState() {
  const histories = new Map<string, VisitorHistory>();
  const calls: string[] = [];
  const pageViews = new Map<string, Record<string, number>>();
  const client = (visitorId: string): VisitorStateClient => ({
    async select(input, { now, sessionTimeoutMs }) {
      calls.push(visitorId);
      let h = histories.get(visitorId);
      const lastSeen = h?.recent.reduce((m, e) => Math.max(m, e.at), -Infinity) ?? -Infinity;
      if (!h) h = { recent: [], sessionStart: now, lifetime: {}, converted: [] };
      if (now - lastSeen > sessionTimeoutMs) h.sessionStart = now;
      histories.set(visitorId, h);
      return selectSlots(input, h, now);
    },
    async preview(input, { now, sessionTimeoutMs }) {
      calls.push(visitorId);
      const h = histories.get(visitorId);
      const lastSeen = h?.recent.reduce((m, e) => Math.max(m, e.at), -Infinity) ?? -Infinity;
      // A copy: selectSlots appends the served exposures to the history it is given.
      const copy: VisitorHistory = h ? structuredClone(h) : { recent: [], sessionStart: now, lifetime: {}, converted: [] };
      if (now - lastSeen > sessionTimeoutMs) copy.sessionStart = now;
      return selectSlots(input, copy, now);
    },
    async pageView(category) {
      calls.push(visitorId);
      const views = (pageViews.get(visitorId) ?? {}) as Record<string, number>;
      if (category) views[category] = (views[category] ?? 0) + 1;
      pageViews.set(visitorId, views);
      return { categoryViews: { ...views }, visitCount: 1 };
    },
  });
  return { client, histories, calls };
}
