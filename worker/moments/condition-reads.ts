/**
 * What a moment's JSON Logic condition reads, found by walking it (no evaluation): the variables
 * it names and the numbers it compares with. The schema checks the windows a condition reads
 * (./schema.ts); the timer derives from them when the condition can change (./timer.ts).
 */

/** Deeper than any condition the schema accepts (12): the walk stops there, so a refused one cannot exhaust the stack. */
const WALK_MAX_DEPTH = 64;

/** Calls `visit(op, arg)` for every operation of the condition, depth first. */
export function walkCondition(rule: unknown, visit: (op: string, arg: unknown) => void): void {
  const walk = (node: unknown, depth: number): void => {
    if (depth > WALK_MAX_DEPTH) return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, depth + 1));
    if (node === null || typeof node !== "object") return;
    for (const [op, arg] of Object.entries(node)) {
      visit(op, arg);
      walk(arg, depth + 1);
    }
  };
  walk(rule, 0);
}

/** Stands for a variable whose name is computed (`{"var": {"cat": [...]}}`): it may be any. */
export const ANY_VAR = "*";

/** Every string inside `node` (the names `missing` and `missing_some` read, however nested). */
function stringsIn(node: unknown, out: Set<string>, depth = 0): void {
  if (depth > WALK_MAX_DEPTH) return;
  if (typeof node === "string") out.add(node);
  else if (Array.isArray(node)) node.forEach((n) => stringsIn(n, out, depth + 1));
  else if (node !== null && typeof node === "object") Object.values(node).forEach((n) => stringsIn(n, out, depth + 1));
}

/**
 * The variable names the condition reads (`{"var": "events.views.count"}` → `events.views.count`),
 * through `var`, `missing` and `missing_some` (which read through `var`: worker/guardrails/condition.ts);
 * a computed name gives `ANY_VAR`.
 */
export function varsOf(rule: unknown): string[] {
  const out = new Set<string>();
  walkCondition(rule, (op, arg) => {
    if (op === "missing" || op === "missing_some") return stringsIn(arg, out);
    if (op !== "var") return;
    const name = Array.isArray(arg) ? arg[0] : arg;
    if (typeof name === "string") out.add(name);
    else if (name !== null && typeof name === "object") out.add(ANY_VAR);
  });
  return [...out];
}

/** Whether the condition reads variable `name` (exactly, or a member of it), or may (a computed name). */
export function readsVar(rule: unknown, name: string): boolean {
  return varsOf(rule).some((v) => v === ANY_VAR || v === name || v.startsWith(`${name}.`));
}

/** The finite numbers written in the condition (thresholds it compares with), without repeats. */
export function numbersIn(rule: unknown): number[] {
  const out = new Set<number>();
  const take = (v: unknown) => {
    if (typeof v === "number" && Number.isFinite(v)) out.add(v);
  };
  walkCondition(rule, (op, arg) => {
    if (op === "var") return;
    if (Array.isArray(arg)) arg.forEach(take);
    else take(arg);
  });
  return [...out];
}
