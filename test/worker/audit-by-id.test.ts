// GET /admin/decisions/:id: one decision's record, as the console's "why this block" reads it.
import { describe, expect, it } from "vitest";
import { adminGet, auditRecord, writeAudit } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

describe("GET /admin/decisions/:id", () => {
  it("answers the record that was written, excluded candidates and arbitration included", async () => {
    const r = await auditRecord({
      decisionId: "by-id-1",
      visitorId: "by-id-alice",
      excluded: [{ blockId: "hero-sale", reason: "frequency_cap" }],
      fallbackCause: null,
    });
    await writeAudit([r]);
    const res = await adminGet("/admin/decisions/by-id-1");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as typeof r;
    expect(body).toMatchObject({ decisionId: "by-id-1", visitorKey: r.visitorKey, chosenBlockId: r.chosenBlockId, excluded: [{ blockId: "hero-sale", reason: "frequency_cap" }] });
    expect(JSON.stringify(body)).not.toContain("by-id-alice");
  });

  it("is a 404 for an id the log does not hold, and needs the admin token", async () => {
    const missing = await adminGet("/admin/decisions/no-such-decision");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await call("/admin/decisions/by-id-1")).status).toBe(401);
  });

  it("still lists the log at /", async () => {
    const res = await adminGet("/admin/decisions?limit=1");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decisions: expect.any(Array) });
  });
});
