// One rule for X-Nextbest-Actor on every admin route that records who made a change
// (worker/admin/actor.ts): a label outside it is a 400 invalid_request and changes nothing; a
// good one is recorded trimmed.
import { describe, expect, it } from "vitest";
import { ADMIN } from "./audit-fixtures.ts";
import { call } from "./helpers.ts";

const JSON_TYPE = { "content-type": "application/json" };
const get = async (path: string) => (await call(path, { headers: ADMIN })).text();
const send = (method: string, path: string, body: unknown, actor: string) =>
  call(path, { method, headers: { ...ADMIN, ...JSON_TYPE, "x-nextbest-actor": actor }, body: JSON.stringify(body) });

const block = { id: "actor-rule-block", slots: ["hero"], category: "general", tags: [], campaign: "actor-rule", priority: 1, value: 1, html: "<p>actor rule</p>" };

/** [route, method, path, body (or a function of the current state), the GET that shows its state]. */
const WRITES: Array<[string, string, string, () => Promise<unknown>, string]> = [
  ["actions catalog", "PUT", "/admin/actions", async () => ({ actions: [{ id: "actor-rule", channel: "email", contentRef: "tpl", value: 1 }] }), "/admin/actions"],
  ["moments", "PUT", "/admin/moments", async () => ({ moments: [] }), "/admin/moments"],
  ["guardrails", "PUT", "/admin/guardrails", async () => JSON.parse(await get("/admin/guardrails")).config, "/admin/guardrails"],
  ["channels", "PUT", "/admin/channels/email", async () => ({ url: "https://esp.example/actor-rule" }), "/admin/channels/email"],
  ["catalog blocks", "POST", "/admin/catalog/blocks", async () => block, "/admin/catalog/history"],
  ["kill switch", "POST", "/admin/kill-switch", async () => ({ on: false }), "/admin/kill-switch"],
];

describe("X-Nextbest-Actor", () => {
  it.each(WRITES.flatMap(([name, method, path, body, state]) => ["<script>", "x".repeat(65), "ana;drop"].map((actor) => [name, JSON.stringify(actor), method, path, body, state] as const)))(
    "%s: %s → 400 invalid_request, nothing changed",
    async (_, __, method, path, body, state) => {
      const actor = JSON.parse(__) as string;
      const before = await get(state);
      const res = await send(method, path, await body(), actor);
      expect(res.status).toBe(400);
      const { error } = await res.json<{ error: { code: string; message: string } }>();
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(/x-nextbest-actor/);
      expect(await get(state)).toBe(before);
    },
  );

  it("a good label is recorded trimmed ('admin' without one, or a blank one)", async () => {
    expect((await send("PUT", "/admin/actions", { actions: [{ id: "actor-rule", channel: "email", contentRef: "tpl", value: 2 }] }, "  ana@example.com ")).status).toBe(200);
    const history = JSON.parse(await get("/admin/actions/history")) as { versions: Array<{ author: string }> };
    expect(history.versions[0]!.author).toBe("ana@example.com");
    const res = await call("/admin/actions", { method: "PUT", headers: { ...ADMIN, ...JSON_TYPE }, body: JSON.stringify({ actions: [] }) });
    expect(res.status).toBe(200);
    expect((JSON.parse(await get("/admin/actions/history")) as { versions: Array<{ author: string }> }).versions[0]!.author).toBe("admin");
    expect((await send("POST", "/admin/kill-switch", { on: false }, "   ")).status).toBe(200);
    expect((JSON.parse(await get("/admin/kill-switch")) as { changedBy: string }).changedBy).toBe("admin");
  });
});
