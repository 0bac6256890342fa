import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { exportLine, type ExportLine } from "../../models/export-format.ts";
import { obdFilesToExport, obdTime, OBD_EXPORT_FEATURES } from "../../models/obd-to-export.ts";
import { main } from "../../models/train.ts";
import { predict } from "../../models/trainer.ts";
import { readManifest } from "../../worker/ranking/manifest.ts";
import { runOnnx, uploadChecks } from "./train-helpers.ts";

// The Open Bandit Dataset sample committed as a test fixture (test/fixtures/obd, Apache-2.0; see its README).
const OBD = new URL("../fixtures/obd/", import.meta.url).pathname;
const FILES = ["random", "bts"].flatMap((policy) => ["men", "women"].map((campaign) => ({ policy, campaign })));
const dir = mkdtempSync(join(tmpdir(), "nextbest-obd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The float32 weights and bias inside a linear model written by models/onnx-writer.ts. */
function linearWeights(bytes: Uint8Array): { weights: number[]; bias: number } {
  const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
  const read = (name: string) => {
    const t = graph.initializer!.find((i) => i.name === name)!;
    const raw = t.rawData!;
    return [...new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))];
  };
  return { weights: read("W"), bias: read("B")[0]! };
}

describe("Open Bandit Dataset → training export", () => {
  it("maps each impression to one decision over every item of the campaign", () => {
    const lines = [...obdFilesToExport(OBD, { policy: "random", campaign: "men" }, 3)];
    expect(lines).toHaveLength(3);
    const first = lines[0]!;
    expect(first).toMatchObject({
      decisionId: "obd-random-men-0",
      time: obdTime("2019-11-24 00:03:13.442536+00:00"),
      slot: "position-3",
      modelVersion: "obd-random",
      featureNames: OBD_EXPORT_FEATURES,
      chosenBlockId: "item-14",
      holdout: false,
      outcomes: { impression: 1, click: 0, conversion: 0, value: 0 },
    });
    expect(first.propensity).toBeCloseTo(1 / 34, 12);
    expect(first.candidates).toHaveLength(34);
    expect(first.candidates.map((c) => c.blockId)).toContain(first.chosenBlockId);
    expect(first.visitorKey).toMatch(/^obd-[0-9a-f]{8}$/);
  });

  it("reads OBD timestamps to the millisecond", () => {
    expect(obdTime("2019-11-24 00:01:03.979311+00:00")).toBe(Date.UTC(2019, 10, 24, 0, 1, 3, 979));
    expect(() => obdTime("yesterday")).toThrow(/unreadable/);
  });

  it("trains on all four files: the affinity effect, better than the constant, a valid ONNX file", async () => {
    const data = join(dir, "obd.jsonl");
    const out = join(dir, "obd.onnx");
    const lines: string[] = [];
    for (const source of FILES) for (const line of obdFilesToExport(OBD, source)) lines.push(exportLine(line as ExportLine));
    writeFileSync(data, lines.join(""));
    const summary = await main(["--data", data, "--out", out, "--name", "obd-affinity"]);
    const cv = summary.crossValidation as { rows: number; positives: number; logLoss: number; baselineLogLoss: number; improvementCi95: [number, number] };

    // 40,000 impressions, 207 clicks (the dataset README's counts).
    expect([summary.rows, summary.positives]).toEqual([40_000, 207]);
    // A user's past clicks on an item raise its click rate from ~0.5% to ~12%: a large weight.
    const weights = summary.weights as number[];
    expect(weights[0]).toBeGreaterThan(3);
    // 5-fold cross-validated log-loss below the constant click rate's. The margin is small (OBD's
    // sample has 64 impressions with a non-zero affinity, 8 of them clicked): the interval is
    // reported in models/README.md, not asserted, since its lower end is close to zero.
    expect(cv.rows).toBe(40_000);
    expect(cv.logLoss).toBeLessThan(cv.baselineLogLoss);

    const bytes = new Uint8Array(readFileSync(out));
    expect(readManifest(bytes)).toMatchObject({ name: "obd-affinity", features: ["block_affinity_log"], output: "probability" });
    expect(uploadChecks(bytes).reasons).toEqual([]);
    const fit = { weights, bias: summary.bias as number };
    const scores = await runOnnx(bytes, [[0], [Math.log(2)], [Math.log(4)]]);
    [0, Math.log(2), Math.log(4)].forEach((x, i) => expect(scores[i]).toBeCloseTo(predict(fit, [x]), 5));

    // The committed fixture the Worker tests upload is this very model.
    const fixture = linearWeights(new Uint8Array(readFileSync(new URL("../fixtures/models/obd-affinity.onnx", import.meta.url))));
    const fresh = linearWeights(bytes);
    expect(fixture.weights[0]).toBeCloseTo(fresh.weights[0]!, 5);
    expect(fixture.bias).toBeCloseTo(fresh.bias, 5);
  });
});
