// The reliability bin SQL over logged scores (worker/aggregates/drift-bins.ts) against the bins
// worker/calibration/metrics.ts gives the served float32 values, in D1 itself: around every edge
// k/10, the float32 values just below and at or above it, logged as their shortest decimals.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CALIBRATION_BIN_SQL } from "../../worker/aggregates/drift-bins.ts";
import { shortestFloat32 } from "../../worker/audit/float32.ts";
import { binOf } from "../../worker/calibration/metrics.ts";

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The float32 `steps` float32 values away from the float32 nearest `x` (positive x). */
function near(x: number, steps: number): number {
  F32[0] = x;
  U32[0] = U32[0]! + steps;
  return F32[0]!;
}

const served = [0, 1, 0.5, 0.34142712, 2, -0.1, ...Array.from({ length: 9 }, (_, k) => (k + 1) / 10).flatMap((e) => [-2, -1, 0, 1, 2].map((s) => near(e, s)))];

describe("reliability bins of logged scores in SQL", () => {
  it("bin each logged score as its served float32 is binned", async () => {
    const logged = served.map((p) => shortestFloat32(Math.fround(p)));
    const sql = `SELECT ${CALIBRATION_BIN_SQL("value")} AS bin FROM json_each(?1) ORDER BY key`;
    const { results } = await env.DB.prepare(sql).bind(JSON.stringify(logged)).all<{ bin: number }>();
    expect(results.map((r) => r.bin)).toEqual(served.map((p) => binOf(Math.fround(p))));
    // The case that moved when scores began to be logged short: 0.699999988… is logged 0.7.
    expect(shortestFloat32(Math.fround(0.7))).toBe(0.7);
    expect(binOf(Math.fround(0.7))).toBe(6);
  });
});
