// One way to name a model on every admin route (issue 11): `default`, the id, a 12+ hex-digit
// prefix, or the version, on the decisions list, the export and the lift report alike.
import { describe, expect, it } from "vitest";
import { builtinId } from "../../worker/models/builtin.ts";
import { call, postDecide } from "./helpers.ts";

const ADMIN = { authorization: "Bearer test-admin-token" };
const list = async (query: string) => call(`/admin/decisions?${query}`, { headers: ADMIN });

describe("the model filter of the admin routes", () => {
  it("takes default, an id prefix or a version, and answers 404 for a model nobody knows", async () => {
    const visitorId = `model-filter-${crypto.randomUUID()}`;
    const res = await postDecide({ visitorId, slots: ["hero"], consent: { personalization: true, analytics: true } });
    expect(res.status).toBe(200);
    // Decisions reach the audit log through the log queue, a moment after the answer.
    let version: string | undefined;
    for (let i = 0; i < 600 && !version; i++) {
      const page = await (await list(`visitor=${visitorId}`)).json<{ decisions: { modelVersion: string | null }[] }>();
      version = page.decisions[0]?.modelVersion ?? undefined;
      if (!version) await new Promise((r) => setTimeout(r, 100));
    }
    expect(version).toMatch(/@[0-9a-f]{12}$/);
    const id = await builtinId();
    expect(version!.endsWith(id.slice(0, 12))).toBe(true);
    for (const model of ["default", id, id.slice(0, 12), version!]) {
      const page = await (await list(`visitor=${visitorId}&model=${encodeURIComponent(model)}`)).json<{ decisions: unknown[] }>();
      expect(page.decisions, model).toHaveLength(1);
      expect((await call(`/admin/export?model=${encodeURIComponent(model)}`, { headers: ADMIN })).status, model).toBe(200);
    }
    expect((await call("/admin/reports/lift?model=default", { headers: ADMIN })).status).toBe(200);
    for (const path of ["/admin/decisions?model=ffffffffffff", "/admin/export?model=ffffffffffff"]) {
      const answer = await call(path, { headers: ADMIN });
      expect(answer.status, path).toBe(404);
      expect((await answer.json<{ error: { code: string } }>()).error.code).toBe("not_found");
    }
  });
});
