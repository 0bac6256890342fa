/**
 * Names in a guardrail configuration that must exist in the catalog: a cap or an exclusion on a
 * block or campaign that does not exist is almost always a typo, and would silently do nothing.
 */
import type { Catalog } from "../catalog/schema.ts";
import type { GuardrailConfig } from "./config.ts";

/** One name the catalog does not have: its path in the configuration and a message. */
export interface UnknownReference {
  path: string;
  message: string;
}

/**
 * Block names (`frequencyCaps.perBlock`) and campaign names (`frequencyCaps.perCampaign`,
 * `exclusions.campaigns`) that the catalog does not contain. Pure.
 */
export function unknownReferences(config: GuardrailConfig, catalog: Catalog): UnknownReference[] {
  const blocks = new Set(catalog.blocks.map((b) => b.id));
  const campaigns = new Set(catalog.blocks.map((b) => b.campaign));
  const check = (path: string, names: string[], known: Set<string>, kind: "block" | "campaign") =>
    names.filter((n) => !known.has(n)).map((n) => ({ path: `${path}.${n}`, message: `no ${kind} "${n}" in the catalog (version ${catalog.version})` }));
  return [
    ...check("frequencyCaps.perBlock", Object.keys(config.frequencyCaps.perBlock), blocks, "block"),
    ...check("frequencyCaps.perCampaign", Object.keys(config.frequencyCaps.perCampaign), campaigns, "campaign"),
    ...check("exclusions.campaigns", Object.keys(config.exclusions.campaigns), campaigns, "campaign"),
  ];
}
