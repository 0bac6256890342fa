import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDefaultModel } from "../../models/build-default-model.ts";
import { simulateDemoTraffic } from "../../models/simulate-demo-traffic.ts";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
const root = new URL("../../models/", import.meta.url);

describe("the default model is reproducible from the repo", () => {
  it("the simulator rewrites models/data/demo-traffic.csv byte for byte", () => {
    const committed = readFileSync(new URL("data/demo-traffic.csv", root), "utf8");
    expect(sha(simulateDemoTraffic())).toBe(sha(committed));
  });

  it("training on it rewrites models/default.onnx byte for byte", () => {
    const csv = readFileSync(new URL("data/demo-traffic.csv", root), "utf8");
    const committed = readFileSync(new URL("default.onnx", root));
    expect(sha(buildDefaultModel(csv))).toBe(sha(committed));
  });
});
