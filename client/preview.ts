// Preview links (`?nb_preview=<token>`, made by POST /admin/preview/links): nb.js then renders
// what the Worker's preview answers for the link's described visitor instead of deciding — no
// decide, no events, nothing stored — and marks the page with a banner saying so. Lives in
// nb-extras.js: a preview is rare, so nb.js only carries the hand-off.
import { parseBlock } from "./inert.ts";
import { findSlots, slotNames } from "./decide.ts";
import { renderDecisions } from "./render.ts";
import type { Decision } from "./types.ts";

/** What POST /v1/preview answers (the parts shown here). */
interface PreviewAnswer {
  decisions: Array<Decision & { score?: number }>;
  slots: Array<{ slot: string; candidates: Array<{ blockId: string; eligible: boolean; excluded: { reason: string } | null }> }>;
}

function banner(doc: Document, lines: string[]): Element {
  const box = doc.createElement("div");
  box.setAttribute("data-nb-preview", "");
  box.setAttribute("role", "status");
  box.style.cssText = "position:fixed;bottom:0;left:0;right:0;z-index:2147483647;background:#222;color:#fff;font:13px/1.4 sans-serif;padding:8px 12px";
  for (const text of lines) box.append(Object.assign(doc.createElement("div"), { textContent: text }));
  doc.body.append(box);
  return box;
}

/**
 * Asks `${endpoint}/v1/preview` for the token's preview of this page's slots, renders the
 * decisions into them and shows a banner explaining each slot. Resolves with the answer, or null
 * when the preview was refused (the banner then says why and the slots keep their defaults).
 */
export async function previewPage(token: string, endpoint: string, doc: Document = document, fetchImpl: typeof fetch = fetch): Promise<PreviewAnswer | null> {
  const slots = findSlots(doc);
  try {
    const res = await fetchImpl(`${endpoint}/v1/preview`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, slots: slotNames(slots), url: doc.location?.href }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    const answer = body as PreviewAnswer;
    renderDecisions(answer.decisions, slots, parseBlock);
    const lines = answer.decisions.map((d) => {
      const slot = answer.slots.find((s) => s.slot === d.slot);
      const left = slot?.candidates.filter((c) => c.excluded).map((c) => `${c.blockId} (${c.excluded!.reason})`) ?? [];
      return `${d.slot}: ${d.block.id} — ${d.reason}${d.score !== undefined ? `, score ${d.score.toFixed(3)}` : ""}${left.length ? `; excluded ${left.join(", ")}` : ""}`;
    });
    banner(doc, ["nextbest preview — nothing is recorded", ...lines]);
    return answer;
  } catch (err) {
    banner(doc, [`nextbest preview refused: ${err instanceof Error ? err.message : String(err)}`]);
    return null;
  }
}
