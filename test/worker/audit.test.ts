import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { d1AuditSink, rowToRecord, type DecisionRow } from "../../worker/audit/d1.ts";
import { auditRecordSchema, memoryAuditSink } from "../../worker/audit/record.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { adminGet, auditRecord, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

interface Page {
  decisions: { decisionId: string; time: number; slot: string; visitorKey: string }[];
  nextCursor: string | null;
}

describe("audit sink", () => {
  it("stores a record in D1 and reads it back unchanged", async () => {
    const r = await auditRecord({ visitorId: "sink-1", holdout: true, holdoutScope: "universal", counterfactualBlockId: "hero-shoes-trail", counterfactualCampaign: "spring-shoes", propensity: 1 });
    expect(auditRecordSchema.parse(r)).toBeTruthy();
    await d1AuditSink(env.DB).write([r]);
    const row = await env.DB.prepare("SELECT * FROM decisions WHERE decision_id = ?").bind(r.decisionId).first<DecisionRow>();
    expect(rowToRecord(row!)).toEqual(r);
    // List-like fields are JSON text columns; the raw visitor id is nowhere.
    expect(row!.candidates).toBe('["hero-shoes-trail","hero-default"]');
    expect(JSON.stringify(row)).not.toContain("sink-1");
  });

  it("writes a batch in one go and ignores a retried decision id", async () => {
    const records = await Promise.all([1, 2, 3].map((i) => auditRecord({ visitorId: `sink-batch-${i}` })));
    const sink = d1AuditSink(env.DB);
    await sink.write(records);
    await sink.write([records[0]!, { ...records[1]!, chosenBlockId: "changed" }]);
    const ids = records.map((r) => r.decisionId);
    const { results } = await env.DB.prepare("SELECT chosen_block_id FROM decisions WHERE decision_id IN (?, ?, ?)").bind(...ids).all<{ chosen_block_id: string }>();
    expect(results.map((r) => r.chosen_block_id)).toEqual(["hero-shoes-trail", "hero-shoes-trail", "hero-shoes-trail"]);
    await sink.write([]);
  });

  it("the in-memory sink behaves the same", async () => {
    const sink = memoryAuditSink();
    const r = await auditRecord();
    await sink.write([r, r]);
    expect(sink.records).toEqual([r]);
  });

  it("refuses a raw visitor id where a key belongs (schema)", async () => {
    expect(auditRecordSchema.safeParse({ ...(await auditRecord()), visitorKey: "v-123" }).success).toBe(false);
  });
});

describe("GET /admin/decisions", () => {
  const base = 1_700_000_000_000;
  const seed = (async () => {
    const records = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        auditRecord({
          decisionId: `list-${i}`,
          time: base + i * 1000,
          visitorId: i < 4 ? "list-alice" : "list-bob",
          slot: i % 2 ? "sidebar" : "hero",
          chosenBlockId: i === 6 ? "hero-default" : "hero-shoes-trail",
          modelVersion: i === 5 ? "challenger@1" : "nextbest-default@abcdef012345",
        }),
      ),
    );
    await writeAudit(records);
  })();
  const window = `from=${base}&to=${base + 7000}`;

  it.each([
    { query: "", ids: [6, 5, 4, 3, 2, 1, 0] },
    { query: "&slot=sidebar", ids: [5, 3, 1] },
    { query: "&visitor=list-alice", ids: [3, 2, 1, 0] },
    { query: "&block=hero-default", ids: [6] },
    { query: "&model=challenger%401", ids: [5] },
    { query: "&visitor=list-bob&slot=hero", ids: [6, 4] },
    { query: `&from=${base + 2000}&to=${base + 4000}`, ids: [3, 2], own: true },
    { query: "&visitor=nobody", ids: [] },
  ])("filters $query", async ({ query, ids, own }) => {
    await seed;
    const res = await adminGet(`/admin/decisions?${own ? "" : window}${query}&limit=100`);
    expect(res.status).toBe(200);
    const page = await res.json<Page>();
    expect(page.decisions.map((d) => d.decisionId)).toEqual(ids.map((i) => `list-${i}`));
    expect(page.nextCursor).toBeNull();
  });

  it("pages newest first with a cursor until the end", async () => {
    await seed;
    const seen: string[] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const res = await adminGet(`/admin/decisions?${window}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      const page: Page = await res.json<Page>();
      seen.push(...page.decisions.map((d) => d.decisionId));
      cursor = page.nextCursor;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `list-${i}`));
  });

  it("answers with visitor keys, never raw ids", async () => {
    await seed;
    const page = await (await adminGet(`/admin/decisions?${window}&visitor=list-alice`)).json<Page>();
    expect(page.decisions[0]!.visitorKey).toBe(await visitorKey("list-alice"));
    expect(JSON.stringify(page)).not.toContain("list-alice");
  });

  it("accepts ISO dates", async () => {
    await seed;
    const from = new Date(base + 5000).toISOString();
    const page = await (await adminGet(`/admin/decisions?from=${from}&to=${base + 7000}`)).json<Page>();
    expect(page.decisions.map((d) => d.decisionId)).toEqual(["list-6", "list-5"]);
  });

  it.each([
    { query: "limit=0", message: "limit" },
    { query: "limit=501", message: "limit" },
    { query: "from=yesterday", message: "from" },
    // Days that do not exist are refused, not rolled over into March or May.
    { query: "from=2026-02-30", message: "from" },
    { query: "to=2026-04-31T10:00:00Z", message: "to" },
    { query: "cursor=garbage", message: "cursor" },
    { query: "visitorId=v-10", message: "visitorId" }, // the filter is visitor=: not silently ignored
    { query: "from=2026-12-01&to=2026-01-01", message: "from must not be after to" },
  ])("refuses $query with 400", async ({ query, message }) => {
    const res = await adminGet(`/admin/decisions?${query}`);
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toContain(message);
  });

  it("needs the admin token", async () => {
    expect((await call("/admin/decisions")).status).toBe(401);
  });
});
