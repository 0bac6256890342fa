// The console's Models and Drift pages in Chromium against the shared `wrangler dev`: upload a
// model trained by the reference trainer (models/train.ts, what `npm run train` runs) from an
// export, see its validation report, activate it, see decides carry its version, roll back from
// the page; a bad file is refused inline and changes nothing; axe at 1280 and 390 px.
//
// The model: a synthetic training export in the trainer's line format (models/export-format.ts,
// the format of GET /admin/export) over catalog features, written and trained here by `main()`
// of models/train.ts — the exact code `npm run train -- --data … --out …` runs.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { exportLine, type ExportLine } from "../../models/export-format.ts";
import { mulberry32 } from "../../models/prng.ts";
import { main as train } from "../../models/train.ts";
import { browserPerTest } from "./browser.ts";
import { openPage, seriousViolations, signIn } from "./console-helpers.ts";

const base = inject("baseUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "x-nextbest-actor": "console-models-test" };
const browser = browserPerTest();
const dir = mkdtempSync(join(tmpdir(), "nextbest-console-models-"));
const FEATURES = ["page_category_match", "category_affinity", "block_promo"];

interface Deployment {
  revision: number;
  champion: { id: string; version: string };
  previousChampions: { id: string; version: string }[];
}
const deployment = async (): Promise<Deployment> => (await fetch(`${base}/admin/models/deployment`, { headers: admin })).json() as Promise<Deployment>;
const modelIds = async (): Promise<string[]> => ((await (await fetch(`${base}/admin/models?limit=200`, { headers: admin })).json()) as { models: { id: string }[] }).models.map((m) => m.id);

/** A training export whose clicks follow a known logistic model (category match and affinity help). */
function syntheticExport(n: number): string {
  const rand = mulberry32(19);
  const lines: ExportLine[] = [];
  for (let i = 0; i < n; i++) {
    const candidates = [0, 1, 2].map((k) => ({ blockId: `b${k}`, features: [rand() < 0.4 ? 1 : 0, Math.round(rand() * 100) / 100, rand() < 0.5 ? 1 : 0], score: null }));
    const chosen = Math.floor(rand() * 3);
    const x = candidates[chosen]!.features;
    const p = 1 / (1 + Math.exp(-(-2.5 + 1.8 * x[0]! + 1.2 * x[1]! + 0.3 * x[2]!)));
    lines.push({
      decisionId: `cm-${i}`,
      time: 1_764_000_000_000 + i * 1000,
      visitorKey: `cmv-${i % 300}`,
      slot: "hero",
      modelVersion: "logging@000000000000",
      featureNames: FEATURES,
      candidates,
      chosenBlockId: `b${chosen}`,
      propensity: 1 / 3,
      holdout: false,
      outcomes: { impression: 1, click: rand() < p ? 1 : 0, conversion: 0, value: 0 },
    });
  }
  return lines.map(exportLine).join("");
}

let modelPath = "";
let version = "";
let original: Deployment;

beforeAll(async () => {
  const data = join(dir, "export.jsonl");
  modelPath = join(dir, "console-e2e.onnx");
  writeFileSync(data, syntheticExport(3000));
  await train(["--data", data, "--out", modelPath, "--name", "console-e2e", "--ips", "--folds", "0"]);
  version = `console-e2e@${createHash("sha256").update(readFileSync(modelPath)).digest("hex").slice(0, 12)}`;
  original = await deployment();
});

afterAll(async () => {
  // Whatever happened, the shared server's original champion serves again.
  for (let i = 0; i < 3 && (await deployment()).champion.version === version; i++) {
    await fetch(`${base}/admin/models/rollback`, { method: "POST", headers: admin });
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Versions decides carry for a few consented visitors of this file (control-group ones carry none). */
async function servedVersions(): Promise<string[]> {
  const versions: string[] = [];
  for (let i = 0; i < 8; i++) {
    const answer = await fetch(`${base}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitorId: `console-models-v${i}`, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { url: `${base}/`, signals: { pageType: "category", pageCategory: "shoes" } } }),
    });
    const body = (await answer.json()) as { decisions: { modelVersion: string | null }[] };
    versions.push(...body.decisions.map((d) => d.modelVersion ?? "none"));
  }
  return versions;
}

describe("console: models", () => {
  it("uploads a trained model, shows its report, activates it (decides carry its version) and rolls back from the page", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "mia", "models");
    await openPage(page, "models", "Models");
    await page.getByLabel("Model file (.onnx)").setInputFiles(modelPath);
    const report = page.locator(".upload-report");
    await expect.poll(() => report.innerText(), { timeout: 60_000 }).toContain(version);
    expect(await report.innerText()).toMatch(/Accepted/);
    expect(await report.innerText()).toContain("3 features, probability");
    expect(await report.innerText()).toMatch(/Test inference\s+[\d.]+ ms mean over 100 candidates/);

    // The list (other files may upload too) has it; activate it with one click.
    const row = page.locator("tr", { has: page.locator("th code", { hasText: version }) });
    await row.getByRole("button", { name: `Activate ${version}` }).click();
    const champion = page.getByTestId("champion-click");
    await expect.poll(() => champion.innerText(), { timeout: 30_000 }).toBe(version);
    expect((await deployment()).champion.version).toBe(version);
    // Decides serve it (each isolate trusts its copy of the deployment for at most 5 s).
    await expect.poll(servedVersions, { timeout: 30_000, interval: 1000 }).toContain(version);

    // Roll back from the page: the previous champion serves again.
    await page.getByRole("button", { name: "Roll back click champion" }).click();
    await expect.poll(() => champion.innerText(), { timeout: 30_000 }).toBe(original.champion.version);
    expect((await deployment()).champion.version).toBe(original.champion.version);
    await expect.poll(async () => (await servedVersions()).includes(version), { timeout: 30_000, interval: 1000 }).toBe(false);
    // The change is recorded under who is signed in.
    const details = (await (await fetch(`${base}/admin/models/${version.split("@")[1]}`, { headers: admin })).json()) as { history: { action: string; actor: string }[] };
    expect(details.history.map((h) => `${h.action}:${h.actor}`)).toEqual(expect.arrayContaining(["activate:mia"]));
  });

  it("shows a bad file's refusal and an empty file's error inline, and changes nothing", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "mia", "models");
    await openPage(page, "models", "Models");
    const before = await deployment();
    const bad = "this is not an onnx model, just text";
    const badSha = createHash("sha256").update(bad).digest("hex");
    // Dropped on the drop zone, as a person drags a file from their desktop.
    const drop = (text: string, name: string) =>
      page.evaluate(
        ([t, n]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([t!], n!, { type: "application/octet-stream" }));
          document.querySelector(".dropzone")!.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        },
        [text, name],
      );
    await drop(bad, "bad.onnx");
    const report = page.locator(".upload-report");
    await expect.poll(() => report.innerText(), { timeout: 60_000 }).toMatch(/Refused/);
    const table = report.getByRole("table", { name: "Why the model was refused" });
    expect(await table.locator("tbody tr").count()).toBeGreaterThan(0);
    expect(await table.innerText()).toMatch(/not_onnx|truncated/);
    expect(await report.innerText()).toContain(badSha);

    await drop("", "empty.onnx");
    await expect.poll(() => page.getByRole("alert").innerText(), { timeout: 30_000 }).toContain("invalid_request");
    expect(await page.getByRole("alert").innerText()).toContain("empty");

    expect(await modelIds()).not.toContain(badSha);
    const after = await deployment();
    expect(after.champion).toEqual(before.champion);
  });

  it.each([
    { width: 1280, height: 900 },
    { width: 390, height: 844 },
  ])("Models (with the calibration panel) and Drift have no serious axe violations at $width px", async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await signIn(page, "mia", "models");
    await openPage(page, "models", "Models", `model=${original.champion.id}&view=calibration`);
    await page.getByRole("heading", { name: /^Calibration of/ }).waitFor();
    await expect.poll(() => page.getByRole("status").count(), { timeout: 60_000 }).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
    await openPage(page, "models", "Models", `model=${original.champion.id}&view=evaluate`);
    await page.getByRole("button", { name: "Evaluate", exact: true }).click();
    await expect.poll(() => page.getByRole("status").count(), { timeout: 60_000 }).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await openPage(page, "drift", "Drift");
    expect(await seriousViolations(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
  });
});
