/**
 * Suppression lists hold keyed ids: the pseudonymous visitor key (worker/visitor/key.ts) the
 * audit log, events and Durable Objects use, never a raw visitor id. Admins may still send
 * `visitorIds`; every save turns them into `visitorKeys`, so no saved version (history in D1,
 * version in force in KV) keeps a raw id and erasure finds the visitor in config the way it finds
 * them everywhere else. Versions saved before this rule still match raw ids until an erasure
 * (worker/erasure/erase.ts) or the next save rewrites them.
 */
import { visitorKey } from "../visitor/key.ts";
import type { GuardrailConfig } from "./config.ts";

/** One suppression list (global, or a campaign's). */
export type SuppressionList = GuardrailConfig["exclusions"]["global"];

/** Every suppression list of a configuration with its path (for reports). */
export function suppressionLists(config: GuardrailConfig): Array<{ path: string; list: SuppressionList }> {
  return [
    { path: "exclusions.global", list: config.exclusions.global },
    ...Object.entries(config.exclusions.campaigns).map(([name, list]) => ({ path: `exclusions.campaigns.${name}`, list })),
  ];
}

async function keyed(list: SuppressionList): Promise<SuppressionList> {
  if (list.visitorIds.length === 0) return list;
  const keys = new Set(list.visitorKeys);
  for (const id of list.visitorIds) keys.add(await visitorKey(id));
  return { ...list, visitorIds: [], visitorKeys: [...keys] };
}

/** The configuration with every list's raw `visitorIds` replaced by their keys (deduplicated). */
export async function keySuppressionLists(config: GuardrailConfig): Promise<GuardrailConfig> {
  if (suppressionLists(config).every(({ list }) => list.visitorIds.length === 0)) return config;
  const campaigns: GuardrailConfig["exclusions"]["campaigns"] = {};
  for (const [name, list] of Object.entries(config.exclusions.campaigns)) campaigns[name] = await keyed(list);
  return { ...config, exclusions: { ...config.exclusions, global: await keyed(config.exclusions.global), campaigns } };
}

/** Whether any list holds keyed ids (the decide path hashes the visitor id only then). */
export function hasKeyedLists(config: GuardrailConfig): boolean {
  return suppressionLists(config).some(({ list }) => list.visitorKeys.length > 0);
}

/** Whether the list names the visitor, by key or (versions saved before keying) by raw id. */
export function listNames(list: SuppressionList, visitorId: string, key: string | undefined): boolean {
  return (key !== undefined && list.visitorKeys.includes(key)) || list.visitorIds.includes(visitorId);
}
