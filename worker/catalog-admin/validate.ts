/**
 * Validation that protects serving: a catalog change is saved only when the catalog it makes
 * still serves every slot it served, names only known slots, keeps the guardrails' references
 * (worker/guardrails/references.ts) and what the active models read (models.ts). Problems
 * that were there before the change are not the change's fault and do not refuse it.
 */
import { catalogSchema, type Catalog } from "../catalog/schema.ts";
import { servingCatalog } from "../catalog/serving.ts";
import { AppError } from "../errors/app-error.ts";
import type { GuardrailConfig } from "../guardrails/config.ts";
import { unknownReferences } from "../guardrails/references.ts";
import { modelProblems, type ActiveModel } from "./models.ts";

/** One reason a catalog is refused: where, and why. */
export interface Problem {
  path: string;
  message: string;
}

/** What a catalog is checked against. */
export interface ValidationContext {
  guardrails: GuardrailConfig;
  models: readonly ActiveModel[];
}

/** zod paths name blocks by index; the admin API names them by id (stable across versions). */
function byId(catalog: Catalog, path: ReadonlyArray<PropertyKey>): string {
  const parts = path.map(String);
  if (parts[0] === "blocks" && typeof path[1] === "number") parts[1] = (catalog.blocks[path[1]] as { id?: string } | undefined)?.id ?? parts[1]!;
  return parts.join(".") || "catalog";
}

/** Problems of one catalog on its own (pure). */
function structural(catalog: Catalog): Problem[] {
  const parsed = catalogSchema.safeParse(catalog);
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: byId(catalog, i.path), message: i.message }));
  for (const block of catalog.blocks) {
    block.slots.forEach((slot, i) => {
      if (!Object.hasOwn(catalog.slots, slot)) problems.push({ path: `blocks.${block.id}.slots.${i}`, message: `no slot "${slot}" in the catalog` });
    });
    const { startAt, endAt } = block.rules ?? {};
    if (startAt && endAt && Date.parse(endAt) <= Date.parse(startAt)) problems.push({ path: `blocks.${block.id}.rules.endAt`, message: "the schedule must end after it starts (startAt)" });
  }
  return problems;
}

/** Slots served before that would stop being served (unless archived on purpose). */
function lostDefaults(before: Catalog, after: Catalog): Problem[] {
  const served = servingCatalog(after).slots;
  return Object.keys(servingCatalog(before).slots)
    .filter((slot) => Object.hasOwn(after.slots, slot) && !after.slots[slot]!.archived && !Object.hasOwn(served, slot))
    .map((slot) => {
      const id = after.slots[slot]!.defaultBlock;
      const block = after.blocks.find((b) => b.id === id);
      return { path: `slots.${slot}.defaultBlock`, message: `the slot would have no default: block "${id}" is ${block ? (block.status ?? "live") : "missing"}; set another approved default first` };
    });
}

/**
 * Every problem the change from `before` to `after` introduces (pure): structure, unknown slots,
 * slots left without a default, guardrail references to blocks or campaigns that would no longer
 * serve, and what the active models read.
 */
export function changeProblems(before: Catalog, after: Catalog, ctx: ValidationContext): Problem[] {
  const problems = structural(after);
  if (problems.length) return problems;
  const refs = (c: Catalog) => unknownReferences(ctx.guardrails, servingCatalog(c)).map((r) => ({ path: `guardrails.${r.path}`, message: `${r.message.replace(/ \(version \d+\)/, "")}: the guardrails refer to it; change them first` }));
  const key = (p: Problem) => `${p.path}\u0000${p.message}`;
  const old = new Set([...refs(before), ...modelProblems(servingCatalog(before), ctx.models)].map(key));
  const fresh = [...refs(after), ...modelProblems(servingCatalog(after), ctx.models)].filter((p) => !old.has(key(p)));
  return [...lostDefaults(before, after), ...fresh];
}

/** Refuses the change (422 `invalid_catalog`, `path: message` per problem) when it has problems. */
export function assertValid(before: Catalog, after: Catalog, ctx: ValidationContext): void {
  const problems = changeProblems(before, after, ctx);
  if (problems.length) throw new AppError("invalid_catalog", problems.slice(0, 20).map((p) => `${p.path}: ${p.message}`).join("; "));
}
