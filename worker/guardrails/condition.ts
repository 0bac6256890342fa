/**
 * The signal condition language: JSON Logic (jsonlogic.com), evaluated by the json-logic-js
 * library over the request's signals. Conditions are data, never code: no parser of ours, no
 * eval, and only the operators listed here are accepted (json-logic's `method`, which calls
 * methods on the data, is refused).
 *
 * Example: `{"and": [{">=": [{"var": "scrollDepth"}, 0.5]}, {"==": [{"var": "pageType"}, "product"]}]}`
 *
 * Signal names with dots: `{"var": "affinity.hero-affinity"}` reads the signal named exactly
 * `affinity.hero-affinity` if there is one, else the path `affinity` → `hero-affinity`; the rule
 * of readSignal, which features use too. (json-logic-js alone only knows paths, so such a signal
 * was unreadable.) `{"var": ["name", default]}` gives `default` when neither exists.
 *
 * Bounded work (issue 12): a condition runs on every decide, for every candidate block, so no
 * condition may spend unbounded CPU. At save time a condition is refused past MAX_NODES nodes,
 * MAX_DEPTH levels, MAX_ITERATION_NESTING nested iterating operators (map, filter, reduce, all,
 * none, some) and string literals longer than MAX_VALUE_LENGTH. At run time an evaluation is
 * stopped (the condition counts as false, reason detail "evaluation budget exceeded") after
 * MAX_STEPS operations, or as soon as one operation yields a string longer than MAX_VALUE_LENGTH
 * or an array longer than MAX_ARRAY_LENGTH: a `reduce` that doubles its accumulator would
 * otherwise build strings of 2^n characters.
 */
import jsonLogic from "json-logic-js";
import { z } from "zod";
import { readSignal } from "../ranking/signals.ts";

// json-logic-js's documented extension point; replacing `var` also changes `missing` and
// `missing_some`, which read through it, so every operator names signals the same way. `this`
// is the data in scope (the signals, or the item inside `map`/`filter`/`reduce`), as in the
// library's own `var`; an empty name is the whole data, a value missing is `default` or null.
jsonLogic.add_operation("var", function (this: unknown, name?: unknown, fallback: unknown = null) {
  if (name === undefined || name === null || name === "") return this;
  const value = readSignal(this, String(name));
  return value === undefined ? fallback : value;
});

/** Operators a condition may use. */
export const CONDITION_OPERATORS = new Set([
  "var", "missing", "missing_some",
  "if", "?:", "==", "===", "!=", "!==", "!", "!!", "or", "and",
  ">", ">=", "<", "<=",
  "max", "min", "+", "-", "*", "/", "%",
  "in", "cat", "substr",
  "map", "filter", "reduce", "all", "none", "some", "merge",
]);

/** Operators that run their body once per element of an array. */
const ITERATING = new Set(["map", "filter", "reduce", "all", "none", "some"]);

/** Save-time limits (see the file comment). */
export const MAX_DEPTH = 12;
export const MAX_NODES = 200;
export const MAX_ITERATION_NESTING = 2;
/** Longest string a condition may hold or build (characters); signals are at most 200. */
export const MAX_VALUE_LENGTH = 2_000;
/** Run-time limits: operations per evaluation, and the longest array one may build. */
export const MAX_STEPS = 5_000;
export const MAX_ARRAY_LENGTH = 1_000;

/** Returns the first problem with a condition, or undefined when it is acceptable. */
export function conditionProblem(rule: unknown): string | undefined {
  let nodes = 0;
  const walk = (node: unknown, depth: number, iterating: number): string | undefined => {
    if (++nodes > MAX_NODES) return `more than ${MAX_NODES} nodes`;
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
    if (typeof node === "string" && node.length > MAX_VALUE_LENGTH) return `a string longer than ${MAX_VALUE_LENGTH} characters`;
    if (Array.isArray(node)) {
      for (const item of node) {
        const p = walk(item, depth + 1, iterating);
        if (p) return p;
      }
      return undefined;
    }
    if (node !== null && typeof node === "object") {
      const keys = Object.keys(node);
      if (keys.length !== 1) return "each operation is an object with exactly one operator";
      const op = keys[0]!;
      if (!CONDITION_OPERATORS.has(op)) return `operator "${op}" is not allowed; use only: ${[...CONDITION_OPERATORS].join(" ")}`;
      const nested = iterating + (ITERATING.has(op) ? 1 : 0);
      if (nested > MAX_ITERATION_NESTING) return `more than ${MAX_ITERATION_NESTING} nested ${[...ITERATING].join("/")} operations`;
      return walk((node as Record<string, unknown>)[op], depth + 1, nested);
    }
    return undefined;
  };
  return walk(rule, 0, 0);
}

/** zod schema of a condition: a JSON Logic rule within the limits, using only the allowed operators. */
export const conditionSchema = z.custom<jsonLogic.RulesLogic>((v) => v !== undefined, { message: "must be a JSON Logic rule" }).superRefine((v, ctx) => {
  const problem = conditionProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: `not an accepted condition: ${problem}` });
});

/** Thrown inside an evaluation that went over its budget. */
class OverBudget extends Error {}

// The budget is enforced by wrapping jsonLogic.apply: json-logic-js evaluates every
// sub-expression (including each element inside map/filter/reduce/all/none/some) through
// `jsonLogic.apply`, the property, so the wrapper sees every step. Evaluation is synchronous,
// so one module-level counter serves one evaluation at a time.
const libraryApply = jsonLogic.apply.bind(jsonLogic);
let steps: number | undefined;
jsonLogic.apply = (logic: jsonLogic.RulesLogic<jsonLogic.AdditionalOperation>, data?: unknown) => {
  if (steps !== undefined && ++steps > MAX_STEPS) throw new OverBudget(`more than ${MAX_STEPS} steps`);
  const value: unknown = libraryApply(logic, data);
  if (steps !== undefined) {
    if (typeof value === "string" && value.length > MAX_VALUE_LENGTH) throw new OverBudget(`a string longer than ${MAX_VALUE_LENGTH}`);
    if (Array.isArray(value) && value.length > MAX_ARRAY_LENGTH) throw new OverBudget(`an array longer than ${MAX_ARRAY_LENGTH}`);
  }
  return value;
};

/**
 * Evaluates a (validated) condition within the run-time budget: true or false, or
 * `"over_budget"` when it was stopped (which counts as false). Any evaluation error is false.
 */
export function runCondition(rule: jsonLogic.RulesLogic, data: Record<string, unknown>): boolean | "over_budget" {
  steps = 0;
  try {
    return jsonLogic.truthy(jsonLogic.apply(rule, data));
  } catch (err) {
    return err instanceof OverBudget ? "over_budget" : false;
  } finally {
    steps = undefined;
  }
}

/** Evaluates a (validated) condition; any evaluation error, or going over budget, counts as false. */
export function evaluateCondition(rule: jsonLogic.RulesLogic, data: Record<string, unknown>): boolean {
  return runCondition(rule, data) === true;
}
