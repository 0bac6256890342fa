/**
 * The Monte Carlo propensity skips arms that cannot win a draw (worker/adaptive/thompson.ts); it
 * must give exactly what a scan of every arm gives, ties and odd values included.
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../models/prng.ts";
import { thompsonPropensity, thompsonPropensityScan, type Arm } from "../../worker/adaptive/thompson.ts";

/** Seeded arms: means, sds and values of the kind given, `n` of them. */
function arms(seed: number, n: number, kind: "bench" | "trained" | "ties" | "signs" | "flat"): Arm[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    switch (kind) {
      // Cold start with the bench's catalog: prior means 0, sds from the features, values 10 + i.
      case "bench":
        return { mean: 0, sd: 0.5 + 2 * r(), value: 10 + i };
      // A learned posterior: separated means, small sds, values between 1 and 5.
      case "trained":
        return { mean: -3 + 4 * r(), sd: 0.05 + 0.3 * r(), value: 1 + 4 * r() };
      // Identical arms without uncertainty: every draw is a tie, won by the first allowed.
      case "ties":
        return { mean: i % 3 === 0 ? 0.5 : -1, sd: 0, value: i % 3 === 0 ? 2 : 1 };
      // Zero and negative values, and a huge logit whose σ rounds to 1.
      case "signs":
        return { mean: i === 0 ? 60 : -1 + 2 * r(), sd: r(), value: i % 4 === 0 ? 0 : i % 4 === 1 ? -2 * r() : 3 * r() };
      // Equal values (the probability-free case): nothing can be skipped on value.
      case "flat":
        return { mean: -1 + 2 * r(), sd: 0.2 + r(), value: 1 };
    }
  });
}

describe("thompsonPropensity skips arms that cannot win, to the bit", () => {
  const cases = (["bench", "trained", "ties", "signs", "flat"] as const).flatMap((kind) =>
    [2, 3, 17, 50].map((n) => ({ kind, n })),
  );
  it.each(cases)("$kind arms, $n of them: the same estimate as the full scan for every chosen arm and allowed subset", ({ kind, n }) => {
    const a = arms(n * 31 + kind.length, n, kind);
    const all = a.map((_, i) => i);
    // Every other arm allowed, in a shuffled order (allowed order decides ties).
    const some = all.filter((i) => i % 2 === 0).reverse();
    for (const allowed of [all, some.length > 1 ? some : all]) {
      for (const chosen of [allowed[0]!, allowed[allowed.length - 1]!, allowed[Math.floor(allowed.length / 2)]!]) {
        const seed = `${kind}-${n}-${chosen}`;
        expect(thompsonPropensity(a, allowed, chosen, seed)).toBe(thompsonPropensityScan(a, allowed, chosen, seed));
      }
    }
  });

  it("ties go to the first allowed arm, as the scan's", () => {
    const a = arms(1, 6, "ties"); // arms 0 and 3 tie with the best rank in every draw
    expect(thompsonPropensity(a, [3, 0, 1], 3, "t")).toBe(1);
    expect(thompsonPropensity(a, [3, 0, 1], 0, "t")).toBe(1 / 1000);
    expect(thompsonPropensity(a, [0, 3, 1], 0, "t")).toBe(1);
    // Equal ranks from different values: 1 × σ(800) = 1 = 2 × σ(0). The arm with the larger value
    // is visited first, yet the tie goes to the one allowed first.
    const b: Arm[] = [{ mean: 800, sd: 0, value: 1 }, { mean: 0, sd: 0, value: 2 }];
    expect(thompsonPropensity(b, [0, 1], 0, "u")).toBe(1);
    expect(thompsonPropensity(b, [1, 0], 1, "u")).toBe(1);
    expect(thompsonPropensity(b, [0, 1], 1, "u")).toBe(thompsonPropensityScan(b, [0, 1], 1, "u"));
  });

  it("an arm whose value is NaN never wins and never hides another", () => {
    const a: Arm[] = [{ mean: 0, sd: 1, value: NaN }, { mean: 0, sd: 1, value: 2 }, { mean: 0, sd: 1, value: 1 }];
    for (const chosen of [0, 1, 2]) expect(thompsonPropensity(a, [0, 1, 2], chosen, "nan")).toBe(thompsonPropensityScan(a, [0, 1, 2], chosen, "nan"));
    expect(thompsonPropensity(a, [0, 1, 2], 0, "nan")).toBe(1 / 1000);
  });
});
