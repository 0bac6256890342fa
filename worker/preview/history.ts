/**
 * The visitor state a preview decides against: the described history, in memory. Both `select`
 * and `preview` run the real selection (caps, page rules, exploration) on a copy, so nothing is
 * recorded anywhere — the visitor's Durable Object is never contacted.
 */
import type { Catalog } from "../catalog/schema.ts";
import type { VisitorStateClient } from "../decide/decide.ts";
import { selectSlots, type VisitorHistory } from "../decide/select.ts";
import { addExposure, WINDOW_MS } from "../guardrails/caps.ts";
import type { PreviewHistory } from "./schema.ts";

/**
 * The described history as the selection sees it. Exposures of blocks the catalog does not know
 * count toward the global cap only (campaign unknown). Lifetime counters are the exposures given;
 * sliding windows keep the last week, as the Durable Object does.
 */
export function historyFrom(described: PreviewHistory | undefined, catalog: Catalog, now: number): VisitorHistory {
  const h: VisitorHistory = { recent: [], lifetime: {}, converted: [...(described?.converted ?? [])], sessionStart: now };
  const defaults = new Set(Object.values(catalog.slots).map((s) => s.defaultBlock));
  const campaigns = new Map(catalog.blocks.map((b) => [b.id, b.campaign]));
  const exposures = [...(described?.exposures ?? [])].filter((e) => e.at <= now).sort((a, b) => a.at - b.at);
  for (const e of exposures) {
    addExposure(h, { at: e.at, blockId: e.blockId, campaign: campaigns.get(e.blockId) ?? "", personalized: !defaults.has(e.blockId) });
  }
  h.recent = h.recent.filter((e) => e.at > now - WINDOW_MS.week);
  h.sessionStart = described?.sessionStart ?? exposures[0]?.at ?? now;
  return h;
}

/** A visitor state client over a fixed history that never records. */
export function describedVisitorState(history: VisitorHistory): VisitorStateClient {
  const run: VisitorStateClient["select"] = async (input, options) => selectSlots(input, structuredClone(history), options.now);
  return {
    select: run,
    preview: run,
    async pageView() {
      return { categoryViews: {}, visitCount: 1 };
    },
  };
}
