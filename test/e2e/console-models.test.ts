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
import { main as train } from "../../models/train.ts";
import { browserPerTest } from "./browser.ts";
import { CONSOLE_VIEWPORTS, openPage, seriousViolations, signIn } from "./console-helpers.ts";

const base = inject("baseUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "x-nextbest-actor": "console-models-test" };
const browser = browserPerTest();
const dir = mkdtempSync(join(tmpdir(), "nextbest-console-models-"));

interface Deployment {
  revision: number;
  champion: { id: string; version: string };
  previousChampions: { id: string; version: string }[];
}
const deployment = async (): Promise<Deployment> => (await fetch(`${base}/admin/models/deployment`, { headers: admin })).json() as Promise<Deployment>;
const modelIds = async (): Promise<string[]> => ((await (await fetch(`${base}/admin/models?limit=200`, { headers: admin })).json()) as { models: { id: string }[] }).models.map((m) => m.id);

/**
 * The demo's simulated traffic (models/data/demo-traffic.csv, what the shipped default model was
 * fitted on) as a training export: one shown decision per impression, clicked or not. A model
 * trained on it ranks the demo's blocks as the default does, so the other files sharing the
 * server see the same blocks during the seconds it is champion (checked below).
 */
function demoExport(): string {
  const [header, ...rows] = readFileSync(new URL("../../models/data/demo-traffic.csv", import.meta.url), "utf8").trim().split("\n");
  const featureNames = header!.split(",").slice(0, -1);
  return rows
    .map((row, i) => {
      const values = row.split(",").map(Number);
      const click = values.pop()! > 0 ? 1 : 0;
      const line: ExportLine = {
        decisionId: `cm-${i}`,
        time: 1_764_000_000_000 + i * 1000,
        visitorKey: `cmv-${i % 2000}`,
        slot: "hero",
        modelVersion: "simulated@000000000000",
        featureNames,
        candidates: [{ blockId: "b", features: values, score: null }],
        chosenBlockId: "b",
        propensity: 1,
        holdout: false,
        outcomes: { impression: 1, click, conversion: 0, value: 0 },
      };
      return exportLine(line);
    })
    .join("");
}

let modelPath = "";
let version = "";
let original: Deployment;

beforeAll(async () => {
  const data = join(dir, "export.jsonl");
  modelPath = join(dir, "console-e2e.onnx");
  writeFileSync(data, demoExport());
  await train(["--data", data, "--out", modelPath, "--name", "console-e2e", "--folds", "0"]);
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

/** `version block` of decides for a few consented visitors of this file (control-group ones carry no version). */
async function served(): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 9; i++) {
    const answer = await fetch(`${base}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ visitorId: `console-models-v${i}`, slots: ["hero"], consent: { personalization: true, analytics: true }, context: { url: `${base}/`, signals: { pageType: "category", pageCategory: ["shoes", "bags", "jackets"][i % 3] } } }),
    });
    const body = (await answer.json()) as { decisions: { modelVersion: string | null; block: { id: string } }[] };
    out.push(...body.decisions.map((d) => `${d.modelVersion ?? "none"} ${d.block.id}`));
  }
  return out;
}
const servedVersions = async () => (await served()).map((s) => s.split(" ")[0]!);
const servedBlocks = async () => (await served()).map((s) => s.split(" ")[1]!);

describe("console: models", () => {
  it("uploads a trained model, shows its report, activates it (decides carry its version) and rolls back from the page", async () => {
    const blocksBefore = await servedBlocks();
    const page = await browser.context.newPage();
    await signIn(page, "mia", "models");
    await openPage(page, "models", "Models");
    await page.getByLabel("Model file (.onnx)").setInputFiles(modelPath);
    const report = page.locator(".upload-report");
    await expect.poll(() => report.innerText(), { timeout: 60_000 }).toContain(version);
    expect(await report.innerText()).toMatch(/Accepted/);
    expect(await report.innerText()).toContain("16 features, probability");
    expect(await report.innerText()).toMatch(/Test inference\s+[\d.]+ ms mean over 100 candidates/);

    // The list (other files may upload too) has it; activate it with one click.
    const row = page.locator("tr", { has: page.locator("th code", { hasText: version }) });
    await row.getByRole("button", { name: `Activate ${version}` }).click();
    const champion = page.getByTestId("champion-click");
    await expect.poll(() => champion.innerText(), { timeout: 30_000 }).toBe(version);
    expect((await deployment()).champion.version).toBe(version);
    // Decides serve it (each isolate trusts its copy of the deployment for at most 5 s).
    await expect.poll(servedVersions, { timeout: 30_000, interval: 1000 }).toContain(version);
    // Trained on the demo's traffic, it serves the blocks the default served (other files rely on them).
    expect(await servedBlocks()).toEqual(blocksBefore);

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

  it.each(CONSOLE_VIEWPORTS)("Models (with the calibration panel) and Drift have no serious axe violations at $width px", async (viewport) => {
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
