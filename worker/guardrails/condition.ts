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

const MAX_DEPTH = 12;
const MAX_NODES = 200;

/** Returns the first problem with a condition, or undefined when it is acceptable. */
export function conditionProblem(rule: unknown): string | undefined {
  let nodes = 0;
  const walk = (node: unknown, depth: number): string | undefined => {
    if (++nodes > MAX_NODES) return `more than ${MAX_NODES} nodes`;
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
    if (Array.isArray(node)) {
      for (const item of node) {
        const p = walk(item, depth + 1);
        if (p) return p;
      }
      return undefined;
    }
    if (node !== null && typeof node === "object") {
      const keys = Object.keys(node);
      if (keys.length !== 1) return "each operation is an object with exactly one operator";
      const op = keys[0]!;
      if (!CONDITION_OPERATORS.has(op)) return `operator "${op}" is not allowed`;
      return walk((node as Record<string, unknown>)[op], depth + 1);
    }
    return undefined;
  };
  return walk(rule, 0);
}

/** zod schema of a condition: any JSON Logic rule using only the allowed operators. */
export const conditionSchema = z.custom<jsonLogic.RulesLogic>((v) => v !== undefined && conditionProblem(v) === undefined, {
  message: `must be a JSON Logic rule using only: ${[...CONDITION_OPERATORS].join(" ")}`,
});

/** Evaluates a (validated) condition; any evaluation error counts as false. */
export function evaluateCondition(rule: jsonLogic.RulesLogic, data: Record<string, unknown>): boolean {
  try {
    return jsonLogic.truthy(jsonLogic.apply(rule, data));
  } catch {
    return false;
  }
}
