/**
 * Erasure in the guardrail configuration. Suppression lists hold keyed ids
 * (worker/guardrails/suppression.ts); versions saved before that may still hold the raw id, in
 * the history (D1 `guardrail_versions`) and in the version in force (KV). Those are rewritten to
 * hold the key instead, so no configuration keeps the raw id. The key itself stays on the lists:
 * removing it would show the visitor what they asked not to be shown — erasure reports it.
 */
import { guardrailConfigSchema } from "../guardrails/config.ts";
import { GUARDRAILS_KEY } from "../guardrails/store.ts";
import { keySuppressionLists, listNames, suppressionLists } from "../guardrails/suppression.ts";

/** What erasure did with the configuration. */
export interface GuardrailErasure {
  /** Saved versions (and the version in force) rewritten from the raw id to its key. */
  rewritten: number;
  /** The suppression lists of the version in force that name the visitor (kept, by key). */
  listedIn: string[];
}

/** Rewrites one stored configuration (JSON text) if it holds the raw id; null when it does not. */
async function rekeyed(text: string, visitorId: string): Promise<string | null> {
  // A JSON string equal to the id, quotes included: an exact element, never a substring.
  if (!text.includes(JSON.stringify(visitorId))) return null;
  const parsed = guardrailConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success || !suppressionLists(parsed.data).some(({ list }) => list.visitorIds.includes(visitorId))) return null;
  return JSON.stringify(await keySuppressionLists(parsed.data));
}

/** Rewrites the history and the version in force; reports the lists that still name the visitor. */
export async function eraseFromGuardrails(env: Pick<Env, "DB" | "CONFIG">, visitorId: string, key: string): Promise<GuardrailErasure> {
  let rewritten = 0;
  const { results } = await env.DB.prepare("SELECT version, config FROM guardrail_versions WHERE instr(config, ?) > 0").bind(JSON.stringify(visitorId)).all<{ version: number; config: string }>();
  for (const row of results) {
    const text = await rekeyed(row.config, visitorId);
    if (text === null) continue;
    await env.DB.prepare("UPDATE guardrail_versions SET config = ? WHERE version = ?").bind(text, row.version).run();
    rewritten++;
  }
  const current = await env.CONFIG.get<{ config: unknown }>(GUARDRAILS_KEY, "json");
  let inForce = current?.config;
  if (current && inForce !== undefined) {
    const text = await rekeyed(JSON.stringify(inForce), visitorId);
    if (text !== null) {
      inForce = JSON.parse(text);
      await env.CONFIG.put(GUARDRAILS_KEY, JSON.stringify({ ...current, config: inForce }));
      rewritten++;
    }
  }
  const parsed = guardrailConfigSchema.safeParse(inForce ?? {});
  const listedIn = parsed.success ? suppressionLists(parsed.data).filter(({ list }) => listNames(list, visitorId, key)).map(({ path }) => path) : [];
  return { rewritten, listedIn };
}
