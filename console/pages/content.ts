/**
 * Content: the catalog's blocks and their review workflow, a rendered preview, version history
 * with a diff, and content performance and fatigue. Routes:
 * - `GET /admin/catalog/blocks`, `GET /admin/catalog/blocks/:id`, `POST /admin/catalog/blocks`,
 *   `PUT /admin/catalog/blocks/:id` (content-editor.ts),
 *   `POST /admin/catalog/blocks/:id/approve|publish|archive|restore|discard` (four eyes: the API
 *   refuses an approval by the block's last editor; the actor is the signed-in name);
 * - `POST /admin/preview` (the decision with `includeDrafts`; its sanitised HTML is rendered in a
 *   sandboxed iframe, `sandbox=""` + `srcdoc`, never into the console's own DOM);
 * - `GET /admin/catalog/history`, `GET /admin/catalog/:version` (a block before and after a version);
 * - `GET /admin/reports/content` (performance per block, the refresh list, never-eligible blocks).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { DiffView } from "../ui/diff.ts";
import { ErrorBox, Loading, pct, Section, useApi, when } from "../ui/common.ts";
import { BlockEditor, type Block } from "./content-editor.ts";
import type { ConsolePage, PageProps } from "./index.ts";

interface Interval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}
interface ContentReport {
  filters: { from: string; to: string };
  blocks: { blockId: string; campaign: string | null; status: string | null; impressions: number; clicks: number; conversions: number; ctr: Interval; cvr: Interval; fatigue: { flagged: boolean; reasons: string[] } }[];
  refresh: { blockId: string; reasons?: string[]; fatigue?: { reasons: string[] } }[];
  neverEligible: { blockId: string; campaign: string; considered: number; topReason: string | null }[];
}
interface Version {
  version: number;
  author: string;
  createdAt: number;
  action: string;
  target?: string;
  restoredFrom?: number;
}
interface PreviewAnswer {
  decisions: { slot: string; block: { id: string; html: string } }[];
  slots: { slot: string; candidates: { blockId: string; eligible: boolean; chosen: boolean; excluded: { reason: string; description: string } | null }[] }[];
}

const STEPS = [
  ["approve", "Approve"],
  ["publish", "Publish"],
  ["archive", "Archive"],
  ["restore", "Restore"],
  ["discard", "Discard pending edit"],
] as const;
const interval = (i: Interval) => `${pct(i.estimate)} (${pct(i.low)}–${pct(i.high)})`;
/**
 * The frame's document: the block's sanitised HTML as the API answered it, with the demo shop's
 * stylesheet so it looks as it would in a slot. `sandbox=""` runs no script and gives the frame
 * an opaque origin, so nothing in it can reach the console.
 */
const frameDoc = (blockHtml: string) => `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/style.css"></head><body class="nb-preview-frame">${blockHtml}</body></html>`;
const blockPath = (id: string) => `/admin/catalog/blocks/${encodeURIComponent(id)}`;

/** Which steps the block's state allows (the API decides; this only hides buttons that cannot work). */
function stepsFor(b: Block): string[] {
  const status = b.status ?? "live";
  if (status === "archived") return ["restore"];
  const steps = ["archive"];
  if (status === "draft" || b.pending) steps.unshift("approve");
  if (status === "approved" && !b.pending) steps.unshift("publish");
  if (b.pending) steps.push("discard");
  return steps;
}

/** The decision preview for one of the block's slots, rendered in a sandboxed frame. */
function Preview({ block }: { block: Block }) {
  const [slot, setSlot] = useState(block.slots[0] ?? "");
  const [signals, setSignals] = useState("{}");
  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const run = async (event?: Event) => {
    event?.preventDefault();
    setError(null);
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(signals || "{}");
      } catch {
        throw new Error("signals: not valid JSON");
      }
      setAnswer(await api<PreviewAnswer>("/admin/preview", { json: { slots: [slot], consent: { personalization: true, marketing: true }, context: { signals: parsed }, includeDrafts: true, holdout: false } }));
    } catch (err) {
      setError(err as Error);
    }
  };
  useEffect(() => void run(), [block.id, block.review?.revision]);
  const decision = answer?.decisions[0];
  const mine = answer?.slots[0]?.candidates.find((c) => c.blockId === block.id);
  return html`<form class="preview-form" onSubmit=${run}>
      <label for="preview-slot">Slot</label>
      <select id="preview-slot" value=${slot} onChange=${(e: Event) => setSlot((e.target as HTMLSelectElement).value)}>
        ${block.slots.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <label for="preview-signals">Visitor signals (JSON, e.g. {"utm": {"campaign": "spring"}})</label>
      <textarea id="preview-signals" class="short" value=${signals} onInput=${(e: Event) => setSignals((e.target as HTMLTextAreaElement).value)}></textarea>
      <p><button type="submit" class="secondary">Preview</button></p>
    </form>
    <${ErrorBox} error=${error} />
    ${decision &&
    html`<p class="preview-outcome">A consented visitor would see <strong>${decision.block.id}</strong> in slot ${decision.slot}.
        ${mine && !mine.chosen && (mine.excluded ? ` This block is excluded: ${mine.excluded.reason} (${mine.excluded.description}).` : mine.eligible ? " This block is eligible but ranked lower." : "")}</p>
      <iframe class="preview-frame" sandbox="" title=${`Preview of ${decision.block.id} in slot ${decision.slot}`} srcdoc=${frameDoc(decision.block.html)}></iframe>`}`;
}

/** History of one block: the catalog versions that changed it, each with its diff. */
function BlockHistory({ id }: { id: string }) {
  const history = useApi<{ versions: Version[] }>("/admin/catalog/history");
  const [open, setOpen] = useState<{ version: number; before: unknown; after: unknown } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const versions = (history.data?.versions ?? []).filter((v) => v.target === id || v.action === "rollback");
  const show = async (v: number) => {
    setError(null);
    try {
      const [after, before] = await Promise.all([api<{ catalog: { blocks: Block[] } }>(`/admin/catalog/${v}`), v > 1 ? api<{ catalog: { blocks: Block[] } }>(`/admin/catalog/${v - 1}`) : null]);
      const find = (c: { catalog: { blocks: Block[] } } | null) => c?.catalog.blocks.find((b) => b.id === id);
      setOpen({ version: v, before: find(before), after: find(after) });
    } catch (err) {
      setError(err as Error);
    }
  };
  return html`<${ErrorBox} error=${history.error ?? error} />
    <div class="table-wrap" tabindex="0" role="region" aria-label="Block history"><table>
      <caption>Versions that changed ${id}</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">When</th><th scope="col">Diff</th></tr></thead>
      <tbody>${versions.map(
        (v) => html`<tr><td>${v.version}</td><td>${v.action}${v.restoredFrom ? ` (from ${v.restoredFrom})` : ""}</td><td>${v.author}</td><td>${when(v.createdAt)}</td>
          <td><button type="button" class="link" onClick=${() => show(v.version)}>Show diff of version ${v.version}</button></td></tr>`,
      )}</tbody>
    </table></div>
    ${open && html`<${DiffView} before=${open.before} after=${open.after} label=${`Changes to ${id} in version ${open.version}`} />`}`;
}

/** One block: its state, the workflow buttons, the preview, the editor and the history. */
function BlockDetail({ id, session, onChanged }: { id: string; session: PageProps["session"]; onChanged: () => void }) {
  const block = useApi<Block>(blockPath(id));
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const b = block.data;
  const step = async (name: string) => {
    setError(null);
    setDone(null);
    try {
      await api(`${blockPath(id)}/${name}`, { method: "POST" });
      setDone(`${name} done by ${session.actor}.`);
      block.reload();
      onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };
  if (!b) return html`<${Loading} when=${block.loading} /><${ErrorBox} error=${block.error} />`;
  const r = b.review;
  return html`<${Section} title=${`Block ${b.id}`} id="block-detail">
      <p><strong>Status:</strong> <span class="status">${b.status ?? "live"}</span>${b.pending ? ` — an edit by ${b.pending.editedBy} waits for approval` : ""}.
        ${r && ` Last edited by ${r.editedBy} (${when(r.editedAt)})${r.approvedBy ? `, approved by ${r.approvedBy} (${when(r.approvedAt)})` : ""}.`}
        ${b.rules?.startAt || b.rules?.endAt ? ` Scheduled ${b.rules?.startAt ?? "now"} → ${b.rules?.endAt ?? "open end"}.` : ""}</p>
      <div class="actions">${stepsFor(b).map((s) => html`<button type="button" class=${s === "archive" || s === "discard" ? "secondary" : ""} onClick=${() => step(s)}>${STEPS.find(([k]) => k === s)![1]}</button>`)}</div>
      ${done && html`<p class="ok">${done}</p>`}
      <${ErrorBox} error=${error} />
      <h3>Preview</h3>
      <${Preview} block=${b} />
      <h3>Edit</h3>
      ${b.status === "archived" ? html`<p class="muted">Restore the block to edit it.</p>` : html`<${BlockEditor} block=${b} onSaved=${() => (block.reload(), onChanged())} />`}
      <h3>History</h3>
      <${BlockHistory} id=${b.id} key=${r?.revision} />
    <//>`;
}

function Performance() {
  const report = useApi<ContentReport>("/admin/reports/content");
  const r = report.data;
  return html`<${Loading} when=${report.loading && !r} /><${ErrorBox} error=${report.error} />
    ${r &&
    html`<p class="muted">${r.filters.from.slice(0, 10)} to ${r.filters.to.slice(0, 10)} (UTC). Rates with 95% Wilson intervals.</p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Performance per block"><table>
        <caption>Performance per block</caption>
        <thead><tr><th scope="col">Block</th><th scope="col">Campaign</th><th scope="col">Impressions</th><th scope="col">Clicks</th><th scope="col">CTR</th><th scope="col">Conversions</th><th scope="col">CVR</th><th scope="col">Fatigue</th></tr></thead>
        <tbody>${r.blocks.map(
          (b) => html`<tr><th scope="row">${b.blockId}</th><td>${b.campaign ?? "–"}</td><td>${b.impressions}</td><td>${b.clicks}</td><td>${interval(b.ctr)}</td><td>${b.conversions}</td><td>${interval(b.cvr)}</td><td>${b.fatigue.flagged ? "fatigued" : "no"}</td></tr>`,
        )}</tbody>
      </table></div>
      <h3>Refresh these creatives (fatigue)</h3>
      ${r.refresh.length ? html`<ul>${r.refresh.map((f) => html`<li><strong>${f.blockId}</strong>: ${(f.reasons ?? f.fatigue?.reasons ?? []).join("; ")}</li>`)}</ul>` : html`<p class="muted">No block shows fatigue.</p>`}
      <h3>Never eligible</h3>
      ${r.neverEligible.length
        ? html`<ul>${r.neverEligible.map((n) => html`<li><strong>${n.blockId}</strong> (${n.campaign}): ${n.considered ? `considered ${n.considered} times, mostly left out by ${n.topReason ?? "–"}` : "its slots were not decided"}</li>`)}</ul>`
        : html`<p class="muted">Every serving block was eligible at least once.</p>`}`}`;
}

function Content({ session, params, navigate }: PageProps) {
  const [status, setStatus] = useState(params.get("status") ?? "");
  const blocks = useApi<{ version: number; blocks: Block[] }>(`/admin/catalog/blocks${status ? `?status=${status}` : ""}`);
  const selected = params.get("block");
  const open = (id: string) => navigate("content", { block: id, ...(status ? { status } : {}) });
  return html`<${Section} title="Blocks">
      <label for="content-status">Show</label>
      <select id="content-status" value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
        <option value="">every status</option>${["draft", "approved", "live", "archived"].map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <${Loading} when=${blocks.loading && !blocks.data} /><${ErrorBox} error=${blocks.error} />
      ${blocks.data &&
      html`<div class="table-wrap" tabindex="0" role="region" aria-label="Blocks"><table>
        <caption>Blocks in catalog version ${blocks.data.version}</caption>
        <thead><tr><th scope="col">Block</th><th scope="col">Status</th><th scope="col">Campaign</th><th scope="col">Slots</th><th scope="col">Last edited by</th></tr></thead>
        <tbody>${blocks.data.blocks.map(
          (b) => html`<tr aria-current=${b.id === selected ? "true" : undefined}><th scope="row"><button type="button" class="link" onClick=${() => open(b.id)}>${b.id}</button></th>
            <td>${b.status ?? "live"}${b.pending ? " (edit pending)" : ""}</td><td>${b.campaign}</td><td>${b.slots.join(", ")}</td><td>${b.review?.editedBy ?? "–"}</td></tr>`,
        )}</tbody>
      </table></div>`}
    <//>
    ${selected && html`<${BlockDetail} id=${selected} key=${selected} session=${session} onChanged=${blocks.reload} />`}
    <${Section} title="New block"><${BlockEditor} onSaved=${(id: string) => (blocks.reload(), open(id))} /><//>
    <${Section} title="Content performance"><${Performance} /><//>`;
}

export const contentPage: ConsolePage = { id: "content", title: "Content", component: Content };
