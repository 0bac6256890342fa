/**
 * Float32 values written as the shortest decimal that reads back as the same float32.
 *
 * Why: features and scores reach the audit record from Float32Arrays (ONNX tensors are float32),
 * and a float32 widened to a double carries binary noise when printed: the feature 0.4 is stored
 * as `0.4000000059604645` (18 characters instead of 3), a score as `0.34142711758613586` instead
 * of `0.34142712`. On a 50-candidate decision with 16 features that noise was about 40% of the
 * record's JSON — bytes the request path serialises, the queue carries, D1 stores and the
 * consumer and the lake parse again. Nothing is lost: `Math.fround` of the stored number is the
 * float32 the model saw, so replay (`Float32Array.from(features)`) scores exactly as served, and a
 * trainer reads the value the feature had (0.4) rather than its float32 neighbour.
 *
 * Method: the shortest round-trip digit string of Steele & White ("How to print floating-point
 * numbers accurately", PLDI 1990) — the criterion ECMAScript's Number::toString applies to
 * doubles (ECMA-262, Number::toString) — taken at float32 precision: the fewest significant digits
 * p whose `toPrecision(p)` parses (to a double, then `Math.fround`) back to the same float32. Nine
 * digits always suffice for binary32 (IEEE 754-2008 §5.12.2), and rounding to p + 1 digits is never
 * farther from the value than rounding to p (every p-digit decimal is also a (p + 1)-digit one),
 * so p is found by binary search over 1..9: three or four `toPrecision` calls a value. Where two
 * shortest decimals are equally near, `toPrecision` takes the larger (3554247.25 → 3554247.3;
 * numpy's repr rounds that tie to even, 3554247.2): both read back as the same float32.
 * Checked against numpy's float32 repr in test/node/float32-text.test.ts.
 */

/**
 * The shortest decimal (as a number) that `Math.fround` maps back to `x`. Integers, numbers that
 * are not float32 values (a double computed elsewhere keeps its full precision) and NaN come back
 * unchanged.
 *
 * @example shortestFloat32(Math.fround(0.4)) // 0.4, where Math.fround(0.4) is 0.4000000059604645
 */
export function shortestFloat32(x: number): number {
  if (Number.isInteger(x) || Math.fround(x) !== x) return x;
  let best = x;
  let lo = 1;
  let hi = 9;
  while (lo <= hi) {
    const p = (lo + hi) >> 1;
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x && !isTie(y, x)) {
      best = y;
      hi = p - 1;
    } else lo = p + 1;
  }
  return best;
}

/**
 * `shortestFloat32` remembering its answers: a decision's rows repeat most values (the visitor's
 * and the page's features are the same for every candidate), so one of these per request turns
 * each distinct value once.
 */
export function float32Shortener(): (x: number) => number {
  const seen = new Map<number, number>();
  return (x) => {
    if (Number.isInteger(x)) return x;
    let y = seen.get(x);
    if (y === undefined) seen.set(x, (y = shortestFloat32(x)));
    return y;
  };
}

/**
 * A row of logged feature or score values as the float32 the model saw, in shortest form (null
 * where the model saw a non-finite value): what the lake and D1 readers hand to export and
 * evaluation, so both give the same numbers for the same row whether it was logged before this
 * form existed (0.4000000059604645), after it (0.4), or read back widened from the lake.
 */
export function float32Row<T extends number | null>(row: readonly T[], short: (x: number) => number): T[] {
  return row.map((v) => (v === null ? v : short(Math.fround(v)))) as T[];
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Whether `y` (a double that Math.fround takes to the float32 `x`) is exactly halfway between `x`
 * and its float32 neighbour: then only the double's tie-to-even chose `x`, and a reader that
 * rounds the decimal straight to float32 (strtof, Rust, DuckDB's text casts) may get the
 * neighbour (7.038531e-26 → 0x15ae43fd, while x is 0x15ae43fe).
 */
function isTie(y: number, x: number): boolean {
  if (y === x) return false;
  F32[0] = x;
  U32[0] = U32[0]! + ((y > x) === (x > 0) ? 1 : -1);
  return y === (x + F32[0]!) / 2;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/**
 * The smallest double whose `Math.fround` is ≥ `edge` (a positive, finite edge): for a logged
 * shortest decimal `p`, `p >= float32Threshold(e)` exactly when the float32 behind it is ≥ e, so
 * SQL over logged scores can bin them as the float32 values the model served (SQLite has no
 * float32 cast). Doubles below the midpoint of the float32 values around the edge round down,
 * above it up, and at it to the one with an even significand (IEEE 754 round-half-to-even).
 */
export function float32Threshold(edge: number): number {
  F32[0] = edge;
  if (F32[0]! < edge) U32[0] = U32[0]! + 1; // the smallest float32 ≥ edge
  const hi = F32[0]!;
  U32[0] = U32[0]! - 1;
  const mid = (F32[0]! + hi) / 2; // exact: two float32 values' mean fits a double
  if (Math.fround(mid) === hi) return mid;
  F64[0] = mid;
  U64[0] = U64[0]! + 1n;
  return F64[0]!;
}
