// Console Models/Drift logic without a server: the upload follows the API's async validation
// (202 → GET status until finished), and the Drift page draws PSI per day with the thresholds the
// API answers as rules. The fetch answers are shaped like the routes' (worker/models/upload.ts,
// worker/drift/route.ts); the e2e file drives the real routes in Chromium.
import { h, render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setCsrf } from "../../console/api.ts";
import { driftPage } from "../../console/pages/drift.ts";
import { uploadModelFile } from "../../console/ui/upload.ts";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrf(null);
  render(null, document.body);
});

describe("uploadModelFile", () => {
  it("sends the bytes asynchronously with the CSRF token and follows the status until the outcome", async () => {
    const sha = "a".repeat(64);
    const report = { ok: false, sha256: sha, sizeBytes: 4, reasons: [{ code: "not_onnx", message: "not protobuf; upload the .onnx file" }], warnings: [] };
    const calls: { url: string; init?: RequestInit }[] = [];
    const answers = [
      json({ status: "validating", sha256: sha, statusUrl: `/admin/models/uploads/${sha}` }, 202),
      json({ status: "validating", sha256: sha }),
      json({ status: "refused", sha256: sha, error: { code: "unprocessable_model", message: "not protobuf" }, report }),
    ];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return answers.shift()!;
    });
    setCsrf("csrf-1");
    const job = await uploadModelFile(new Blob(["nope"]), async () => {});
    expect(job).toMatchObject({ status: "refused", report: { reasons: [{ code: "not_onnx" }] } });
    expect(calls.map((c) => `${c.init?.method} ${c.url}`)).toEqual(["POST /admin/models", `GET /admin/models/uploads/${sha}`, `GET /admin/models/uploads/${sha}`]);
    expect(calls[0]!.init?.headers).toMatchObject({ "content-type": "application/octet-stream", prefer: "respond-async", "x-csrf-token": "csrf-1" });
  });

  it("throws the API's error when the upload itself is refused (e.g. 413)", async () => {
    vi.stubGlobal("fetch", async () => json({ error: { code: "payload_too_large", message: "body: at most 20971520 bytes" } }, 413));
    await expect(uploadModelFile(new Blob(["x"]))).rejects.toMatchObject({ status: 413, code: "payload_too_large" });
  });
});

describe("Drift page", () => {
  it("draws each feature's PSI per day with the warn and alert rules, and lists the latest day", async () => {
    const point = (subject: string, day: string, value: number, status: string, kind = "feature") => ({ model: "m@abc", kind, subject, day, status, baseline: "manifest", n: 900, value, figures: { js: 0.1 } });
    const series = [
      point("category_affinity", "2026-11-28", 0.05, "ok"),
      point("category_affinity", "2026-11-29", 0.18, "warn"),
      point("block_promo", "2026-11-28", 0.02, "ok"),
      point("block_promo", "2026-11-29", 0.31, "alert"),
      point("", "2026-11-29", 0.04, "ok", "score"),
    ];
    const answer = {
      window: { from: "2026-11-01", to: "2026-11-30" },
      thresholds: { psiWarn: 0.1, psiAlert: 0.25, minCount: 500, eceWarn: 0.05, eceAlert: 0.1 },
      models: [
        {
          model: "m@abc",
          baseline: "manifest",
          features: series.filter((p) => p.kind === "feature" && p.day === "2026-11-29").map((p) => ({ ...p, feature: p.subject, psi: p.value, js: 0.1 })),
          score: { ...series[4], psi: 0.04, js: 0.01 },
          outcomes: [{ ...point("click", "2026-11-29", 0.031, "ok", "outcome"), outcome: "click", rate: 0.031, baseline: "trailing_28d" }],
          calibration: [],
        },
      ],
      series,
    };
    const requested: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      requested.push(url);
      return json(answer);
    });
    const params = new URLSearchParams("model=m@abc&from=2026-11-01");
    render(h(driftPage.component, { params, navigate: () => {}, session: { actor: "ana" } as never }), document.body);
    await vi.waitFor(() => expect(document.querySelector("table caption")?.textContent).toBe("Latest day per feature"), { timeout: 5000 });
    expect(requested).toEqual(["/admin/drift?model=m%40abc&from=2026-11-01"]);
    const rows = [...document.querySelectorAll("table")[0]!.querySelectorAll("tbody tr")].map((tr) => tr.textContent);
    expect(rows).toEqual([expect.stringMatching(/^category_affinity.*0\.180.*warn$/), expect.stringMatching(/^block_promo.*0\.310.*alert$/)]);
    const chart = document.querySelector(".chart")!;
    expect(chart.getAttribute("aria-label")).toContain("warn (0.1) and alert (0.25)");
    // Two threshold rules and one line per feature (drawn by an effect, after the table).
    await vi.waitFor(() => expect(chart.querySelectorAll('g[data-mark="rule"]').length).toBe(2), { timeout: 5000 });
    expect(chart.querySelectorAll('g[data-mark="line"] path').length).toBe(2);
    expect(chart.querySelectorAll('g[data-mark="dot"] circle').length).toBe(4);
    expect(document.body.textContent).toContain("click rate");
  });
});
