import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../worker/index.ts";
import { flushLake } from "../../worker/lake/flush.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { auditRecord, insertEvent, writeAudit, ADMIN } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";
import { lakeKeys, readLakeObject, resetLake } from "./lake-fixtures.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 8);

async function lakeVisitors(): Promise<{ decisions: string[]; events: string[] }> {
  const out = { decisions: [] as string[], events: [] as string[] };
  for (const key of await lakeKeys()) {
    const table = key.startsWith("lake/decisions/") ? "decisions" : "events";
    for (const row of await readLakeObject(key, ["visitor_key"])) out[table].push(row.visitor_key as string);
  }
  return out;
}

beforeAll(async () => {
  await resetLake();
  // "erase-me" alone in hour 0; mixed with "keep-me" in hour 1.
  await writeAudit([
    await auditRecord({ decisionId: "er-1", visitorId: "erase-me", time: T0 }),
    await auditRecord({ decisionId: "er-2", visitorId: "erase-me", time: T0 + HOUR }),
    await auditRecord({ decisionId: "er-3", visitorId: "keep-me", time: T0 + HOUR + 1 }),
  ]);
  await insertEvent({ id: "er-e1", time: T0 + 5, type: "impression", decisionId: "er-1", visitorId: "erase-me" });
  await insertEvent({ id: "er-e2", time: T0 + HOUR + 5, type: "impression", decisionId: "er-3", visitorId: "keep-me" });
  await flushLake(env.DB, env.LAKE, { now: T0 + 2 * HOUR });
});

describe("erasure reaches the lake", () => {
  it("DELETE /admin/visitors/:id queues the lake rewrite; the cron removes the visitor's rows from every lake file", async () => {
    const gone = await visitorKey("erase-me");
    const kept = await visitorKey("keep-me");
    expect((await lakeVisitors()).decisions.filter((k) => k === gone)).toHaveLength(2);
    const filesBefore = (await lakeKeys()).length;

    const res = await call("/admin/visitors/erase-me", { method: "DELETE", headers: ADMIN });
    expect(res.status).toBe(200);
    const pending = await env.DB.prepare("SELECT tbl FROM lake_erasures WHERE visitor_key = ? AND done_at IS NULL ORDER BY tbl").bind(gone).all();
    expect(pending.results).toEqual([{ tbl: "decisions" }, { tbl: "events" }]);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: T0 + 3 * HOUR, cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const after = await lakeVisitors();
    expect(after.decisions).toEqual([kept]);
    expect(after.events).toEqual([kept]);
    // The hour-0 files held only the erased visitor: deleted, with their ledger rows.
    expect((await lakeKeys()).length).toBe(filesBefore - 2);
    const ledger = await env.DB.prepare("SELECT SUM(rows) AS rows FROM lake_files WHERE written_at IS NOT NULL").first("rows");
    expect(ledger).toBe(2);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM lake_erasures WHERE done_at IS NULL").first("n")).toBe(0);
    // The rewritten file still holds the other visitor's full row.
    const hour1 = (await lakeKeys()).find((k) => k.startsWith("lake/decisions/") && k.includes("hour=09"))!;
    expect(await readLakeObject(hour1)).toMatchObject([{ decision_id: "er-3", candidates: ["hero-shoes-trail", "hero-default"], features: [[1, 0], [0, 1]], holdout: false }]);
  });

  it("an export after an erasure leaves the visitor out at once, without waiting for the cron", async () => {
    await writeAudit([await auditRecord({ decisionId: "er-4", visitorId: "erase-me-too", time: T0 + 2 * HOUR })]);
    await flushLake(env.DB, env.LAKE, { now: T0 + 3 * HOUR });
    const key = await visitorKey("erase-me-too");
    const exported = async () => (await (await call(`/admin/export?from=${T0}&to=${T0 + 4 * HOUR}`, { headers: ADMIN })).text());
    expect(await exported()).toContain(key);
    expect((await call("/admin/visitors/erase-me-too", { method: "DELETE", headers: ADMIN })).status).toBe(200);
    expect(await exported()).not.toContain(key);
    expect((await lakeVisitors()).decisions).not.toContain(key);
  });
});
