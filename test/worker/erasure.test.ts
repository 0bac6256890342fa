import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eraseVisitor } from "../../worker/erasure/erase.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { ADMIN, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";
import type { DecideResponse } from "../../worker/decide/schema.ts";
import { call, decideOk, TREATED } from "./helpers.ts";

const erase = (id: string, headers: Record<string, string> = ADMIN) => call(`/admin/visitors/${encodeURIComponent(id)}`, { method: "DELETE", headers });

async function count(table: "events" | "decisions", visitorId: string): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE visitor_key = ?`).bind(await visitorKey(visitorId)).first<number>("n"))!;
}

describe("DELETE /admin/visitors/:id", () => {
  it("removes the visitor's events, audit rows and Durable Object state, and says how much", async () => {
    const id = "erase-me@example";
    await writeAudit([await auditRecord({ visitorId: id }), await auditRecord({ visitorId: id }), await auditRecord({ visitorId: "erase-bystander" })]);
    for (let i = 0; i < 3; i++) await insertEvent({ time: 1_768_000_000_000 + i, type: "click", visitorId: id });
    await insertEvent({ time: 1_768_000_000_000, type: "click", visitorId: "erase-bystander" });
    const stub = env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id)));
    await stub.markConverted("spring-shoes", 1);

    const res = await erase(id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ visitorKey: await visitorKey(id), complete: true, removed: { events: 3, decisions: 2, visitorState: 1, guardrailVersions: 0 }, notRemoved: [] });
    expect(await count("events", id)).toBe(0);
    expect(await count("decisions", id)).toBe(0);
    // Other visitors keep theirs.
    expect(await count("events", "erase-bystander")).toBe(1);
    expect(await count("decisions", "erase-bystander")).toBe(1);

    // Erasing again is harmless and finds nothing.
    expect(await (await erase(id)).json()).toMatchObject({ removed: { events: 0, decisions: 0, visitorState: 0 } });
  });

  it("reaches what is still in the log queue: nothing decided or sent before the erasure is stored after it", async () => {
    // Decide and events answer before their records are queued (worker/pipeline/), so an erasure
    // sent right after a page finds them neither in D1 nor anywhere it can delete; the consumer
    // must drop them when they arrive.
    const id = `${TREATED[0]}-erased-in-queue`;
    const page = { visitorId: id, slots: ["hero", "sidebar"], consent: { personalization: true, analytics: true }, context: { signals: { pageCategory: "shoes" } } };
    const click = (decisionId: string) =>
      call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ consent: { analytics: true }, events: [{ type: "click", decisionId, visitorId: id }] }) });
    const before: DecideResponse = await decideOk(page);
    expect((await click(before.decisions[0]!.decisionId)).status).toBe(202);
    expect(await (await erase(id)).json()).toMatchObject({ complete: true, notRemoved: [] });

    // The visitor comes back and consents again: what is decided after the erasure is stored.
    const after: DecideResponse = await decideOk(page);
    expect((await click(after.decisions[0]!.decisionId)).status).toBe(202);
    const key = await visitorKey(id);
    const ids = async (sql: string) => (await env.DB.prepare(sql).bind(key).all<{ id: string }>()).results.map((r) => r.id).sort();
    const until = Date.now() + 60_000;
    // The queue delivers in order: once the later records are in, the earlier ones have been consumed.
    while (Date.now() < until && ((await count("events", id)) < 1 || (await count("decisions", id)) < 2)) await new Promise((r) => setTimeout(r, 100));
    expect(await ids("SELECT decision_id AS id FROM decisions WHERE visitor_key = ?")).toEqual(after.decisions.map((d) => d.decisionId).sort());
    expect(await ids("SELECT decision_id AS id FROM events WHERE visitor_key = ?")).toEqual([after.decisions[0]!.decisionId]);
  });

  it("attempts every store and reports what it could not remove and why, so a retry completes the erasure", async () => {
    const done: string[] = [];
    const targets = {
      events: async () => (done.push("events"), 1),
      decisions: async () => {
        throw new Error("D1 unavailable");
      },
      visitorState: async () => (done.push("state"), 2),
    };
    const result = await eraseVisitor("v", targets);
    expect(done.sort()).toEqual(["events", "state"]);
    expect(result).toMatchObject({ complete: false, removed: { events: 1, decisions: 0, visitorState: 2 } });
    expect(result.notRemoved).toEqual([{ store: "decisions", reason: "failed: D1 unavailable; send the request again to finish" }]);
  });

  it("needs the admin token", async () => {
    expect((await erase("someone", {})).status).toBe(401);
  });

  it("refuses an id longer than any visitor id", async () => {
    const res = await erase("x".repeat(129));
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_request");
  });
});
