/**
 * Uploading an .onnx model: a drop zone (drag and drop, or a labelled file input for keyboards)
 * and the validation report as the API answers it.
 *
 * Routes: `POST /admin/models` (the file's bytes, `application/octet-stream`; sent with
 * `Prefer: respond-async` so the answer is always 202 and the outcome — accepted with its report,
 * or refused with the error and report — is read from `GET /admin/models/uploads/:sha256`; the
 * 422 body of a synchronous refusal is not kept by `api()`, the job is). The ONNX file carries
 * its manifest in its metadata (`nextbest.manifest`, models/README.md), so one file is sent.
 */
import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { html } from "../html.ts";
import { ErrorBox } from "./common.ts";

/** The validation report (worker/models/report.ts), the parts the page shows. */
export interface ValidationReport {
  ok: boolean;
  sha256: string;
  sizeBytes: number;
  reasons: { code: string; message: string }[];
  warnings: string[];
  version?: string;
  manifest?: { name: string; output: string; outcome?: string; features: string[] };
  model?: { irVersion: number; producer: string; nodes: number; parameters: number; inputs: { name: string; type: string }[]; outputs: { name: string; type: string }[] };
  scoreOutput?: { name: string; shape: string; column: string };
  inference?: { candidates: number; runs: number; meanMs: number; maxMs: number; budgetMs: number; sessionMs: number; min: number; max: number };
}

/** `GET /admin/models/uploads/:sha256` (worker/models/validator.ts UploadJob). */
export type UploadJob =
  | { status: "validating"; sha256: string }
  | { status: "accepted"; sha256: string; created: boolean; model: { id: string; version: string }; report: ValidationReport }
  | { status: "refused"; sha256: string; error: { code: string; message: string }; report: ValidationReport }
  | { status: "failed"; sha256: string; error: { code: string; message: string } };

const POLL_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends the file and follows its validation until it is finished. Throws ApiError (413, 415, 400…). */
export async function uploadModelFile(file: Blob, poll: (ms: number) => Promise<unknown> = sleep): Promise<UploadJob> {
  const started = await api<{ status: string; sha256: string; statusUrl: string }>("/admin/models", {
    method: "POST",
    body: file,
    headers: { "content-type": "application/octet-stream", prefer: "respond-async" },
  });
  for (;;) {
    const job = await api<UploadJob>(started.statusUrl ?? `/admin/models/uploads/${started.sha256}`);
    if (job.status !== "validating") return job;
    await poll(POLL_MS);
  }
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`);

/** The report: every refusal reason (its code and the API's message, which says how to fix it), or what was checked. */
export function ReportView({ job }: { job: UploadJob }) {
  if (job.status === "failed" || job.status === "validating") {
    return html`<div class="upload-report">${job.status === "failed" && html`<${ErrorBox} error=${new Error(`${job.error.code}: ${job.error.message}`)} />`}</div>`;
  }
  const r = job.report;
  return html`<div class="upload-report" aria-live="polite">
    ${job.status === "refused"
      ? html`<p class="bad"><strong>Refused</strong> (${job.error.code}): nothing was registered.</p>
          <div class="table-wrap" tabindex="0"><table><caption>Why the model was refused</caption>
            <thead><tr><th scope="col">Code</th><th scope="col">Reason and fix</th></tr></thead>
            <tbody>${r.reasons.map((reason) => html`<tr><th scope="row"><code>${reason.code}</code></th><td>${reason.message}</td></tr>`)}</tbody></table></div>`
      : html`<p class="ok"><strong>Accepted</strong>: ${job.created ? "registered as" : "already registered as"} <code>${job.model.version}</code>.</p>`}
    <dl class="report-facts">
      <dt>SHA-256</dt><dd><code class="wrap">${r.sha256}</code></dd>
      <dt>Size</dt><dd>${kb(r.sizeBytes)}</dd>
      ${r.manifest && html`<dt>Manifest</dt><dd>${r.manifest.name}: ${r.manifest.features.length} features, ${r.manifest.output}, outcome ${r.manifest.outcome ?? "click"}</dd>`}
      ${r.model && html`<dt>Graph</dt><dd>IR ${r.model.irVersion}, ${r.model.nodes} nodes, ${r.model.parameters} parameters, by ${r.model.producer || "–"};
        in ${r.model.inputs.map((i) => `${i.name} ${i.type}`).join(", ")}; out ${r.model.outputs.map((o) => `${o.name} ${o.type}`).join(", ")}</dd>`}
      ${r.scoreOutput && html`<dt>Score</dt><dd>${r.scoreOutput.name} ${r.scoreOutput.shape} (${r.scoreOutput.column})</dd>`}
      ${r.inference && html`<dt>Test inference</dt><dd>${r.inference.meanMs.toFixed(2)} ms mean over ${r.inference.candidates} candidates (budget ${r.inference.budgetMs} ms), scores ${r.inference.min.toFixed(3)}–${r.inference.max.toFixed(3)}</dd>`}
    </dl>
    ${r.warnings.length > 0 && html`<p>Warnings:</p><ul>${r.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
  </div>`;
}

/** Drop zone + file input; `onDone` is called after an upload finished (accepted or refused). */
export function UploadBox({ onDone }: { onDone: (job: UploadJob) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const [job, setJob] = useState<UploadJob | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const send = async (file: File | undefined) => {
    if (!file) return;
    setBusy(file.name);
    setError(null);
    setJob(null);
    try {
      const done = await uploadModelFile(file);
      setJob(done);
      onDone(done);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(null);
    }
  };
  return html`<div
      class=${`dropzone${over ? " over" : ""}`}
      onDragOver=${(e: DragEvent) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave=${() => setOver(false)}
      onDrop=${(e: DragEvent) => {
        e.preventDefault();
        setOver(false);
        void send(e.dataTransfer?.files[0]);
      }}
    >
      <p>Drop an <code>.onnx</code> file here (its manifest travels inside it), or choose one:</p>
      <label for="model-file">Model file (.onnx)</label>
      <input id="model-file" type="file" accept=".onnx,application/octet-stream" disabled=${busy !== null}
        onChange=${(e: Event) => {
          const input = e.currentTarget as HTMLInputElement;
          void send(input.files?.[0]).then(() => (input.value = ""));
        }} />
      ${busy && html`<p role="status">Validating ${busy}…</p>`}
    </div>
    <${ErrorBox} error=${error} />
    ${job && html`<${ReportView} job=${job} />`}`;
}
