/**
 * Builds models/churn-demo.onnx, the demo churn model (`npm run model:churn`): a logistic
 * regression with manifest outcome `churn` over two declared features (docs/features.md) —
 * days since the visitor's last order (signal `lastOrderAt`, clipped to a year) and ln(1 + their
 * order count) (signal `ordersCount`). Its weights are set by hand to tell a story, not fitted:
 * a customer who ordered often and recently rarely churns; one silent for months likely does.
 *   p(churn) = σ(−2.5 + 0.03 · days − 0.8 · ln(1 + orders))
 * e.g. 180 days and 1 order → 0.94; 5 days and 5 orders → 0.03. The propensity is the same for
 * every block (it describes the visitor); arbitration decides which blocks it raises or lowers.
 * Byte-for-byte reproducible (test/node/train-declared.test.ts rebuilds it and compares).
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { writeLinearModel } from "./onnx-writer.ts";

/** The churn demo's manifest and weights. */
export const CHURN_DEMO = {
  weights: [0.03, -0.8],
  bias: -2.5,
  manifest: {
    version: 1 as const,
    name: "nextbest-churn-demo",
    outcome: "churn",
    features: ["days_since_order", "orders_log"],
    declarations: {
      days_since_order: { kind: "recency" as const, signal: "lastOrderAt", unit: "days" as const, default: 0, transforms: [{ op: "clip" as const, min: 0, max: 365 }] },
      orders_log: { kind: "signal" as const, signal: "ordersCount", default: 0, transforms: [{ op: "log1p" as const }] },
    },
    output: "probability" as const,
  },
};

/** Serialises the churn demo model. */
export function buildChurnModel(): Uint8Array {
  return writeLinearModel({ ...CHURN_DEMO, description: "demo churn propensity: hand-set logistic regression over days since the last order and the order count" });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = buildChurnModel();
  writeFileSync(new URL("./churn-demo.onnx", import.meta.url), bytes);
  console.log(`wrote models/churn-demo.onnx (${bytes.length} bytes, sha256 ${createHash("sha256").update(bytes).digest("hex")})`);
}
