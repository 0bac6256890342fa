/**
 * Issue 12 item 7: suppression lists hold keyed ids, so erasure and the guardrail history agree;
 * erasure reports what it did not remove and why.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { GUARDRAILS_KEY } from "../../worker/guardrails/store.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { call, postDecide, TREATED } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const putGuardrails = (config: unknown) => call("/admin/guardrails", { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(config) });
const erase = (id: string) => call(`/admin/visitors/${encodeURIComponent(id)}`, { method: "DELETE", headers: ADMIN });
const history = async () => (await env.DB.prepare("SELECT version, config FROM guardrail_versions ORDER BY version").all<{ version: number; config: string }>()).results;
const hero = async (visitorId: string) =>
  (await (await postDecide({ visitorId, slots: ["hero"], consent: { personalization: true }, context: { signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 } } } })).json<DecideResponse>()).decisions[0]!;

describe("suppression lists hold keyed ids", () => {
  it("saves the key of a listed visitor id, never the id, and still suppresses the visitor", async () => {
    const id = TREATED[0]!;
    const res = await putGuardrails({ exclusions: { campaigns: { "spring-shoes": { visitorIds: [id] } } } });
    expect(res.status).toBe(200);
    const saved = await res.json<{ config: { exclusions: { campaigns: Record<string, { visitorIds: string[]; visitorKeys: string[] }> } } }>();
    expect(saved.config.exclusions.campaigns["spring-shoes"]).toEqual({ visitorIds: [], visitorKeys: [await visitorKey(id)], emailHashes: [] });
    expect((await history()).some((r) => r.config.includes(JSON.stringify(id)))).toBe(false);
    expect(await env.CONFIG.get(GUARDRAILS_KEY)).not.toContain(JSON.stringify(id));
    // The keyed list excludes the visitor, and only them.
    expect((await hero(id)).block.id).not.toBe("hero-shoes-trail");
    expect((await hero(TREATED[1]!)).block.id).toBe("hero-shoes-trail");
  });
});

describe("DELETE /admin/visitors/:id and the guardrail configuration", () => {
  it("rewrites versions saved with the raw id to its key and reports the suppression it keeps", async () => {
    const id = "legacy-suppressed@example";
    const other = "legacy-other@example";
    // Versions saved before keying: the raw ids in the history and in the version in force.
    const legacy = { exclusions: { global: { visitorIds: [id, other] } } };
    const { version } = (await env.DB.prepare("INSERT INTO guardrail_versions (config, author, created_at, action) VALUES (?, 'legacy', 1, 'put') RETURNING version").bind(JSON.stringify(legacy)).first<{ version: number }>())!;
    await env.CONFIG.put(GUARDRAILS_KEY, JSON.stringify({ version, config: legacy, author: "legacy", createdAt: 1, action: "put" }));

    const res = await erase(id);
    expect(res.status).toBe(200);
    const report = await res.json<{ complete: boolean; removed: { guardrailVersions: number }; notRemoved: Array<{ store: string; reason: string }> }>();
    expect(report.complete).toBe(true);
    expect(report.removed.guardrailVersions).toBe(2); // the history row and the version in force
    expect(report.notRemoved).toHaveLength(1);
    expect(report.notRemoved[0]!.store).toBe("guardrails");
    expect(report.notRemoved[0]!.reason).toContain("exclusions.global");

    const key = await visitorKey(id);
    const row = (await history()).find((r) => r.version === version)!;
    expect(row.config).not.toContain(JSON.stringify(id));
    expect(row.config).toContain(key);
    // The whole row is keyed: no raw id of anyone stays in it.
    expect(row.config).not.toContain(JSON.stringify(other));
    const inForce = (await env.CONFIG.get(GUARDRAILS_KEY))!;
    expect(inForce).not.toContain(JSON.stringify(id));
    expect(inForce).toContain(key);

    // Again: nothing left to rewrite; the kept key is still reported.
    const again = await (await erase(id)).json<{ removed: { guardrailVersions: number }; notRemoved: unknown[] }>();
    expect(again.removed.guardrailVersions).toBe(0);
    expect(again.notRemoved).toHaveLength(1);
  });

  it("reports nothing kept for a visitor on no list", async () => {
    await putGuardrails({});
    const report = await (await erase("never-listed")).json<{ complete: boolean; notRemoved: unknown[] }>();
    expect(report).toMatchObject({ complete: true, notRemoved: [] });
  });
});
