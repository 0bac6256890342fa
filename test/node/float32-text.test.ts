/**
 * Float32 values logged as their shortest round-trip decimal (worker/audit/float32.ts), checked
 * against numpy's float32 repr (Dragon4, unique mode) of 2,176 values computed independently
 * (test/fixtures/float32/make_reference.py).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { float32Row, float32Shortener, float32Threshold, shortestFloat32 } from "../../worker/audit/float32.ts";

const reference = JSON.parse(readFileSync(new URL("../fixtures/float32/reference.json", import.meta.url), "utf8")) as [string, string][];

/** The float32 with these IEEE 754 bits, widened to a double. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, parseInt(hex, 16));
  return view.getFloat32(0);
}

/** Significant digits of a decimal's text (exponent, sign, point and leading zeros dropped). */
const digits = (text: string) => text.replace(/e.*$/i, "").replace(/[-.]/g, "").replace(/^0+/, "").replace(/0+$/, "").length || 1;

describe("shortestFloat32", () => {
  it.each([
    // [value the model saw (float32, widened), what is logged, numpy's repr of the same float32]
    [Math.fround(0.4), 0.4],
    [Math.fround(0.1), 0.1],
    [Math.fround(0.7), 0.7],
    [Math.fround(Math.log1p(3)), 1.3862944],
    [Math.fround(Math.log1p(12)), 2.5649493],
    [Math.fround(Math.log(2)), 0.6931472],
    [Math.fround(1 / 3), 0.33333334],
    [0.34142711758613586, 0.34142712],
    [-0.052201420068740845, -0.05220142],
    [Math.fround(1e-7), 1e-7],
    [Math.fround(1.4e-45), 1e-45],
    [Math.fround(3.4028235e38), 3.4028234663852886e38],
    // 7.038531e-26 is exactly halfway between this float32 (bits 15ae43fe) and the one below: read
    // through a double it rounds to even (this one), read straight to float32 (strtof, DuckDB's
    // text cast) possibly not — so the unambiguous 8 digits, as numpy prints it.
    [fromBits("15ae43fe"), 7.0385313e-26],
  ])("%f is logged as %f", (x, logged) => {
    expect(shortestFloat32(x)).toBe(logged);
    expect(Math.fround(shortestFloat32(x))).toBe(x);
  });

  it.each([
    ["an integer", 3],
    ["zero", 0],
    ["a large integer (kept exact, not its shorter float32 neighbour)", 33554432],
    ["a double that is not a float32 value", 0.1],
    ["a double that is not a float32 value", Math.log1p(3)],
    ["NaN", NaN],
    ["Infinity", Infinity],
  ])("%s comes back unchanged", (_, x) => {
    expect(Object.is(shortestFloat32(x), x)).toBe(true);
  });

  it("matches numpy's shortest float32 repr on 2,174 values", () => {
    expect(reference.length).toBe(2174);
    // Same digit count and the same float32 back for every value; the same decimal except where two
    // shortest decimals are equally near (3554247.25: numpy rounds the tie to even, 3554247.2;
    // toPrecision rounds it up, 3554247.3 — both read back as 3554247.25).
    const rows = reference.map(([bits, text]) => ({ x: fromBits(bits), numpy: Number(text), ours: shortestFloat32(fromBits(bits)) }));
    expect(rows.filter((r) => Math.fround(r.ours) !== r.x || digits(r.ours.toExponential()) !== digits(r.numpy.toExponential()))).toEqual([]);
    const ties = rows.filter((r) => r.ours !== r.numpy);
    expect(ties.length).toBeLessThan(20);
    for (const t of ties) expect(Math.abs(t.ours - t.x)).toBeCloseTo(Math.abs(t.numpy - t.x), 12);
  });

  it("always reads back as the same float32, in no more digits than a full scan finds", () => {
    // Independent of the binary search: the first of 1..9 digits (toExponential) that round-trips.
    const scan = (x: number) => {
      for (let p = 1; p <= 9; p++) if (Math.fround(Number(x.toExponential(p - 1))) === x) return p;
      return 17;
    };
    const view = new DataView(new ArrayBuffer(4));
    let state = 7;
    for (let i = 0; i < 20_000; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      view.setUint32(0, state);
      const x = view.getFloat32(0);
      if (!Number.isFinite(x) || Number.isInteger(x)) continue;
      const y = shortestFloat32(x);
      expect(Math.fround(y)).toBe(x);
      expect(digits(y.toExponential())).toBe(scan(x));
    }
  });

  it("makes the default model's feature rows and scores short", () => {
    const row = Array.from(Float32Array.from([1, 0.75, Math.log1p(3), 0, 0.4, Math.log1p(12), Math.log(2), 0.1]));
    expect(JSON.stringify(row)).toBe("[1,0.75,1.3862943649291992,0,0.4000000059604645,2.5649492740631104,0.6931471824645996,0.10000000149011612]");
    const short = float32Shortener();
    expect(JSON.stringify(row.map(short))).toBe("[1,0.75,1.3862944,0,0.4,2.5649493,0.6931472,0.1]");
    // Replay feeds the logged numbers back as float32: the same input the model saw.
    expect(Array.from(Float32Array.from(row.map(short)))).toEqual(row);
  });
});

describe("float32Shortener", () => {
  it("remembers values, and gives what shortestFloat32 gives", () => {
    const short = float32Shortener();
    const values = Array.from(Float32Array.from({ length: 200 }, (_, i) => (i % 7) / 9 + i / 1000));
    for (const v of [...values, ...values]) expect(short(v)).toBe(shortestFloat32(v));
  });
});

describe("float32Row (what the D1 and lake readers give)", () => {
  it.each([
    ["logged in shortest form", [0.4, 1.3862944, 0, null], [0.4, 1.3862944, 0, null]],
    ["logged before the shortest form existed (a widened float32)", [0.4000000059604645, 1.3862943649291992, 1], [0.4, 1.3862944, 1]],
    ["read back from the lake (widened)", [Math.fround(0.4), Math.fround(0.34142712)], [0.4, 0.34142712]],
    ["a double that is no float32: the float32 the model would have seen", [Math.log1p(3), 0.1234567891234], [1.3862944, 0.12345679]],
  ])("%s", (_, row, expected) => {
    expect(float32Row(row, float32Shortener())).toEqual(expected);
  });
});

describe("float32Threshold", () => {
  const F64 = new Float64Array(1);
  const U64 = new BigUint64Array(F64.buffer);
  const below = (x: number) => ((F64[0] = x), (U64[0] = U64[0]! - 1n), F64[0]!);
  it.each([...Array.from({ length: 9 }, (_, k) => (k + 1) / 10), ...Array.from({ length: 19 }, (_, k) => (k + 1) / 20), 1e-30, 0.5, 1, 3554247.25, 7.038531e-26])(
    "the smallest double whose float32 is ≥ %s",
    (edge) => {
      const t = float32Threshold(edge);
      expect(Math.fround(t)).toBeGreaterThanOrEqual(edge);
      expect(Math.fround(below(t))).toBeLessThan(edge);
    },
  );
});
