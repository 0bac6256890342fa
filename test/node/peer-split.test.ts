// scripts/peer-split.mjs: which of the peer bench's timed requests were a system's first for their
// visitor. Checked against a transcription of the bench's own request order (bench.mjs: checks,
// warm-up, timed rounds; one cookie counter for every request), where each simulated server
// remembers the visitor ids it has seen, as each system's fresh state does.
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs script without types
import { p50, splitByVisit } from "../../scripts/peer-split.mjs";

type Split = Map<string, { first: number[]; returning: number[] }>;

/** The bench's run on `names` (the origin first): each timed sample's total is 1 when its server had not seen the visitor, else 2. */
function simulatedResult(names: string[], rounds: number, warmup: number) {
  let counter = 0;
  const cookie = () => `benchvisitor-${String(counter++ % 64).padStart(4, "0")}`;
  const seen = new Map(names.map((n) => [n, new Set<string>()]));
  const serve = (name: string) => {
    const visitor = cookie();
    const fresh = !seen.get(name)!.has(visitor);
    seen.get(name)!.add(visitor);
    return { total: fresh ? 1 : 2 };
  };
  const pages = ["a", "b", "c"];
  for (const _ of pages) {
    serve(names[0]!);
    for (const name of names.slice(1)) serve(name);
  }
  for (const _ of pages) for (const name of names) for (let i = 0; i < warmup; i++) serve(name);
  const samples: Record<string, { total: number }[]> = {};
  for (const page of pages) {
    for (const name of names) samples[`${name}|${page}`] = [];
    for (let r = 0; r < rounds; r++) for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      samples[`${name}|${page}`]!.push(serve(name));
    }
  }
  return { systems: names.map((name) => ({ name })), samples };
}

describe("peer-split", () => {
  it.each([
    { names: ["origin", "nextbest", "growthbook"], rounds: 100, warmup: 5, page: "a" },
    { names: ["origin", "nextbest", "growthbook", "nextbest-noprefix", "growthbook-sdk"], rounds: 100, warmup: 5, page: "a" },
    { names: ["origin", "nextbest", "growthbook"], rounds: 20, warmup: 2, page: "b" },
  ])("puts every first request of $names.length systems on page $page apart ($rounds rounds, warm-up $warmup)", ({ names, rounds, warmup, page }) => {
    const split: Split = splitByVisit(simulatedResult(names, rounds, warmup), { warmup, page });
    for (const name of names) {
      const { first, returning } = split.get(name)!;
      expect(first.length + returning.length).toBe(rounds);
      expect(first.every((t) => t === 1)).toBe(true);
      expect(returning.every((t) => t === 2)).toBe(true);
    }
  });

  it("counts 45 first visits of 100 for nextbest on page (a) with 3 systems, as the bench's runs had", () => {
    const split: Split = splitByVisit(simulatedResult(["origin", "nextbest", "growthbook"], 100, 5));
    expect(split.get("nextbest")!.first).toHaveLength(45);
  });

  it("reads the wrong warm-up as a different split (the option matters)", () => {
    const result = simulatedResult(["origin", "nextbest", "growthbook"], 100, 5);
    const wrong: Split = splitByVisit(result, { warmup: 4 });
    expect(wrong.get("nextbest")!.first.some((t) => t === 2) || wrong.get("nextbest")!.returning.some((t) => t === 1)).toBe(true);
  });

  it.each([
    { what: "no systems", result: { samples: {} } },
    { what: "only the origin", result: { systems: [{ name: "origin" }], samples: { "origin|a": [] } } },
    { what: "no samples", result: { systems: [{ name: "origin" }, { name: "nextbest" }] } },
    { what: "a page short of one sample", result: (() => {
      const r = simulatedResult(["origin", "nextbest", "growthbook"], 10, 5);
      r.samples["growthbook|c"]!.pop();
      return r;
    })() },
  ])("refuses a result.json with $what (the replay would count the wrong requests)", ({ result }) => {
    expect(() => splitByVisit(result)).toThrow(/not a peer bench result.json/);
  });

  it.each([
    { xs: [3, 1, 2], p: 2 },
    { xs: [4, 1, 3, 2], p: 2 },
    { xs: [5], p: 5 },
  ])("p50 of $xs is $p (the lower middle, as the bench reports)", ({ xs, p }) => {
    expect(p50(xs)).toBe(p);
  });
});
