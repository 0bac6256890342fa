import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../worker/app.ts";
import type { Block } from "../../worker/catalog/schema.ts";
import { DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { sanitizeBlockHtml } from "../../worker/sanitize/sanitize.ts";
import { XSS_PAYLOADS } from "../fixtures/xss-payloads.ts";
import { ADMIN, type ErrorBody, get, heroBlock, newest, resetCatalog, type Saved, send } from "./catalog-helpers.ts";
import { call } from "./helpers.ts";

beforeEach(resetCatalog);
afterAll(resetCatalog);

/** Creates a hero block as ana and approves it as ben. */
async function approvedBlock(id: string, extra: Partial<Block> = {}) {
  expect((await send("POST", "/blocks", heroBlock(id, extra))).status).toBe(201);
  const res = await send("POST", `/blocks/${id}/approve`, undefined, {}, "ben");
  expect(res.status).toBe(200);
  return res.json<Saved>();
}

describe("blocks: create, update, approve, publish, archive, restore", () => {
  it.each([
    { step: "create", run: () => send("POST", "/blocks", heroBlock("hero-new")), status: 201, state: "draft", action: "create_block" },
    { step: "update a draft (PUT)", setup: () => send("POST", "/blocks", heroBlock("hero-new")), run: () => send("PUT", "/blocks/hero-new", heroBlock("hero-new", { html: "<p>fixed typo</p>" })), status: 200, state: "draft", action: "update_block" },
    { step: "update an approved block (PATCH, merge patch): the edit waits", setup: () => approvedBlock("hero-new"), run: () => send("PATCH", "/blocks/hero-new", { value: 99 }, { "content-type": "application/merge-patch+json" }), status: 200, state: "approved", action: "update_block", pending: true },
    { step: "approve a pending edit", setup: async () => (await approvedBlock("hero-new"), send("PATCH", "/blocks/hero-new", { value: 99 })), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "ben"), status: 200, state: "approved", action: "approve" },
    { step: "discard a pending edit", setup: async () => (await approvedBlock("hero-new"), send("PATCH", "/blocks/hero-new", { value: 99 })), run: () => send("POST", "/blocks/hero-new/discard"), status: 200, state: "approved", action: "discard" },
    { step: "approve", setup: () => send("POST", "/blocks", heroBlock("hero-new")), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "ben"), status: 200, state: "approved", action: "approve" },
    { step: "publish", setup: () => approvedBlock("hero-new"), run: () => send("POST", "/blocks/hero-new/publish"), status: 200, state: "live", action: "publish" },
    { step: "archive", setup: () => approvedBlock("hero-new"), run: () => send("POST", "/blocks/hero-new/archive"), status: 200, state: "archived", action: "archive" },
    { step: "archive a demo block (no status: live)", run: () => send("POST", "/blocks/hero-bags-travel/archive"), status: 200, state: "archived", action: "archive", id: "hero-bags-travel" },
    { step: "restore", setup: async () => (await approvedBlock("hero-new"), send("POST", "/blocks/hero-new/archive")), run: () => send("POST", "/blocks/hero-new/restore"), status: 200, state: "draft", action: "restore" },
  ])("$step → $status, block $state, one new version in the history", async ({ setup, run, status, state, action, id = "hero-new", pending = false }) => {
    await setup?.();
    const before = (await newest()).version;
    const res = await run();
    expect(res.status).toBe(status);
    const saved = await res.json<Saved>();
    expect(saved).toMatchObject({ version: before + 1, action, target: id, block: { id, status: state } });
    expect(res.headers.get("etag")).toBe(`"${saved.version}"`);
    expect(saved.block!.pending !== undefined).toBe(pending);
    expect(saved.diff.length).toBeGreaterThan(0);
    expect(saved.diff.every((op) => op.path.startsWith(`/blocks/${id}`))).toBe(true);
    const { versions } = await (await get("/history")).json<{ versions: Saved[] }>();
    expect(versions[0]).toMatchObject({ version: before + 1, action, author: saved.author, target: id });
    expect((await newest()).catalog.blocks.find((b) => b.id === id)!.status).toBe(state);
  });

  it("records who edited and who approved; an edit serves only once approved, by someone else", async () => {
    const approved = await approvedBlock("hero-new");
    expect(approved.block!.review).toMatchObject({ editedBy: "ana", approvedBy: "ben", revision: approved.version });
    const edited = await (await send("PATCH", "/blocks/hero-new", { html: "<p>new copy</p>" }, {}, "cy")).json<Saved>();
    expect(edited.block).toMatchObject({ status: "approved", html: "<p>hero-new</p>", pending: { content: { html: "<p>new copy</p>" }, editedBy: "cy" } });
    expect(edited.diff).toEqual(expect.arrayContaining([expect.objectContaining({ path: "/blocks/hero-new/pending" })]));
    expect((await send("POST", "/blocks/hero-new/approve", undefined, {}, "cy")).status).toBe(403);
    const done = await (await send("POST", "/blocks/hero-new/approve", undefined, {}, "ana")).json<Saved>();
    expect(done.block).toMatchObject({ status: "approved", html: "<p>new copy</p>", review: { editedBy: "cy", approvedBy: "ana" } });
    expect(done.block!.pending).toBeUndefined();
  });

  it("fixing a typo in a slot's default: the old copy serves until the fix is approved", async () => {
    const hero = async () => (await (await call("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId: "v-3", slots: ["hero"] }) })).json<{ decisions: Array<{ block: { id: string; html: string } }> }>()).decisions[0]!.block;
    expect((await send("PATCH", "/blocks/hero-default", { html: "<p>Welcome!</p>" })).status).toBe(200);
    expect(await hero()).toMatchObject({ id: "hero-default", html: expect.stringContaining("Northwind") }); // no consent: the default
    expect((await send("POST", "/blocks/hero-default/approve", undefined, {}, "ben")).status).toBe(200);
    expect(await hero()).toEqual({ id: "hero-default", html: "<p>Welcome!</p>" });
  });

  it("an edit that changes nothing makes no version", async () => {
    await approvedBlock("hero-new");
    const before = (await newest()).version;
    const res = await send("PUT", "/blocks/hero-new", heroBlock("hero-new"));
    expect(res.status).toBe(200);
    expect((await res.json<Saved>()).block!.status).toBe("approved");
    expect((await newest()).version).toBe(before);
  });

  it("lists blocks by status and reads one with its ETag", async () => {
    await send("POST", "/blocks", heroBlock("hero-draft"));
    const drafts = await (await get("/blocks?status=draft")).json<{ blocks: Block[] }>();
    expect(drafts.blocks.map((b) => b.id)).toEqual(["hero-draft"]);
    const all = await (await get("/blocks")).json<{ blocks: Block[] }>();
    expect(all.blocks).toHaveLength(DEMO_CATALOG.blocks.length + 1);
    const one = await get("/blocks/hero-draft");
    expect(one.headers.get("etag")).toBe(`"${(await one.json<Block>()).review!.revision}"`);
    expect((await get("/blocks/nope")).status).toBe(404);
  });
});

describe("refusals change nothing", () => {
  it.each([
    { name: "approving your own block (four eyes)", setup: () => send("POST", "/blocks", heroBlock("hero-new")), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "ana"), status: 403, code: "forbidden", message: 'last edited by "ana"' },
    { name: "approving your own block under another case (four eyes)", setup: () => send("POST", "/blocks", heroBlock("hero-new")), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "ANA"), status: 403, code: "forbidden", message: "four eyes" },
    { name: "four eyes: the default actor approving the default actor's block", setup: () => send("POST", "/blocks", heroBlock("hero-new"), {}, ""), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, ""), status: 403, code: "forbidden", message: '"admin"' },
    { name: "publishing a draft", setup: () => send("POST", "/blocks", heroBlock("hero-new")), run: () => send("POST", "/blocks/hero-new/publish", undefined, {}, "ben"), status: 409, code: "conflict", message: "approve it first" },
    { name: "approving an archived block", setup: async () => (await approvedBlock("hero-new"), send("POST", "/blocks/hero-new/archive")), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "ben"), status: 409, code: "conflict", message: "restore it first" },
    { name: "editing an archived block", setup: async () => (await approvedBlock("hero-new"), send("POST", "/blocks/hero-new/archive")), run: () => send("PATCH", "/blocks/hero-new", { value: 3 }), status: 409, code: "conflict", message: "restore it first" },
    { name: "reusing an id (archived ones included)", setup: async () => (await approvedBlock("hero-new"), send("POST", "/blocks/hero-new/archive")), run: () => send("POST", "/blocks", heroBlock("hero-new")), status: 409, code: "conflict", message: "ids are never reused" },
    { name: "changing an id", run: () => send("PUT", "/blocks/hero-default", heroBlock("hero-other", { slots: ["hero"] })), status: 422, code: "invalid_catalog", message: "block ids never change" },
    { name: "a block of an unknown slot", run: () => send("POST", "/blocks", heroBlock("hero-new", { slots: ["hero", "heroo"] })), status: 422, code: "invalid_catalog", message: 'blocks.hero-new.slots.1: no slot "heroo"' },
    { name: "a block without html", run: () => send("POST", "/blocks", (({ html: _, ...b }) => b)(heroBlock("hero-new"))), status: 422, code: "invalid_catalog", message: "html:" },
    { name: "a bad id", run: () => send("POST", "/blocks", heroBlock("Hero New")), status: 422, code: "invalid_catalog", message: "id:" },
    { name: "an unknown member", run: () => send("POST", "/blocks", { ...heroBlock("hero-new"), colour: "red" }), status: 422, code: "invalid_catalog", message: "colour" },
    { name: "a status sent by the client", run: () => send("POST", "/blocks", { ...heroBlock("hero-new"), status: "live" }), status: 422, code: "invalid_catalog", message: "status" },
    { name: "a schedule that ends before it starts", run: () => send("POST", "/blocks", heroBlock("hero-new", { rules: { startAt: "2026-12-10T00:00:00Z", endAt: "2026-12-01T00:00:00Z" } })), status: 422, code: "invalid_catalog", message: "blocks.hero-new.rules.endAt:" },
    { name: "archiving a slot's default block", run: () => send("POST", "/blocks/hero-default/archive"), status: 422, code: "invalid_catalog", message: "slots.hero.defaultBlock: the slot would have no default" },
    { name: "a default block serving two slots", setup: () => send("PATCH", "/blocks/hero-default", { slots: ["hero", "sidebar"] }), run: () => send("POST", "/blocks/hero-default/approve", undefined, {}, "ben"), status: 422, code: "invalid_catalog", message: "slots.hero.defaultBlock:" },
    { name: "a slot default that is a draft", setup: () => send("POST", "/blocks", heroBlock("hero-new", { tags: ["default"] })), run: () => send("PATCH", "/slots/hero", { defaultBlock: "hero-new" }), status: 422, code: "invalid_catalog", message: 'slots.hero.defaultBlock: the slot would have no default: block "hero-new" is draft' },
    { name: "a default block without the tag the active model reads (block_default)", setup: () => send("PATCH", "/blocks/hero-default", { tags: ["house"] }), run: () => send("POST", "/blocks/hero-default/approve", undefined, {}, "ben"), status: 422, code: "invalid_catalog", message: 'blocks.hero-default.tags: model nextbest-default@' },
    { name: "approving an approved block", setup: () => approvedBlock("hero-new"), run: () => send("POST", "/blocks/hero-new/approve", undefined, {}, "cy"), status: 409, code: "conflict", message: "cannot become approved" },
    { name: "discarding when nothing waits", run: () => send("POST", "/blocks/hero-default/discard"), status: 409, code: "conflict", message: "no edit waiting" },
    { name: "a malformed body", run: () => send("POST", "/blocks", "{"), status: 400, code: "invalid_json", message: "JSON" },
    { name: "a merge patch that is not an object", run: () => send("PATCH", "/blocks/hero-default", [1]), status: 422, code: "invalid_catalog", message: "must be a JSON object" },
    { name: "a prototype key", run: () => send("PATCH", "/blocks/hero-default", '{"__proto__":{"x":1}}'), status: 422, code: "invalid_catalog", message: "not a block member" },
    { name: "an unknown block", run: () => send("POST", "/blocks/hero-nope/approve", undefined, {}, "ben"), status: 404, code: "not_found", message: "hero-nope" },
    { name: "an unknown version", run: () => send("POST", "/rollback", { version: 999 }), status: 404, code: "not_found", message: "999" },
    { name: "no token", run: () => call("/admin/catalog/blocks", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(heroBlock("hero-new")) }), status: 401, code: "unauthorized", message: "Bearer" },
  ])("refuses $name ($status)", async ({ setup, run, status, code, message }) => {
    await setup?.();
    const before = await newest();
    const res = await run();
    expect(res.status).toBe(status);
    const { error } = await res.json<ErrorBody>();
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
    expect(await newest()).toEqual(before);
  });

  it("with CATALOG_REQUIRE_FOUR_EYES=false an editor approves their own block", async () => {
    await send("POST", "/blocks", heroBlock("hero-new"));
    const app = createApp();
    const ctx = createExecutionContext();
    const req = new Request("http://nextbest.test/admin/catalog/blocks/hero-new/approve", { method: "POST", headers: { ...ADMIN, "x-nextbest-actor": "ana" } });
    const res = await app.fetch(req, { ...env, CATALOG_REQUIRE_FOUR_EYES: "false" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect((await res.json<Saved>()).block!.review).toMatchObject({ editedBy: "ana", approvedBy: "ana" });
  });
});

describe("guardrail references", () => {
  const guardrails = (body: unknown) => call("/admin/guardrails", { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(body) });
  afterAll(() => guardrails({}));

  it.each([
    { name: "archiving a block the guardrails cap", config: { frequencyCaps: { perBlock: { "hero-bags-travel": [{ limit: 1, window: "day" }] } } }, run: () => send("POST", "/blocks/hero-bags-travel/archive"), path: "guardrails.frequencyCaps.perBlock.hero-bags-travel:" },
    { name: "renaming the last campaign the guardrails exclude", config: { exclusions: { campaigns: { newsletter: { visitorIds: ["v-x"] } } } }, setup: () => send("PATCH", "/blocks/sidebar-newsletter", { campaign: "letters" }), run: () => send("POST", "/blocks/sidebar-newsletter/approve", undefined, {}, "ben"), path: "guardrails.exclusions.campaigns.newsletter:" },
  ])("refuses $name with the path", async ({ config, setup, run, path }) => {
    expect((await guardrails(config)).status).toBe(200);
    await setup?.();
    const before = await newest();
    const res = await run();
    expect(res.status).toBe(422);
    expect((await res.json<ErrorBody>()).error.message).toContain(path);
    expect(await newest()).toEqual(before);
  });
});

describe("slots", () => {
  it("creates a slot with its default block, serves it once the default is approved, and archives it", async () => {
    const created = await send("POST", "/slots", { id: "footer", description: "site footer", defaultBlock: { ...heroBlock("footer-default"), slots: ["footer"], tags: ["default"] } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ action: "create_slot", target: "footer", slot: { id: "footer", defaultBlock: "footer-default" } });
    const decide = (slot: string) => call("/v1/decide", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ visitorId: "v-3", slots: [slot] }) });
    expect((await decide("footer")).status).toBe(422); // its default is a draft: not decided yet
    expect((await send("POST", "/blocks/footer-default/approve", undefined, {}, "ben")).status).toBe(200);
    const served = await decide("footer");
    expect(served.status).toBe(200);
    expect((await served.json<{ decisions: Array<{ block: { id: string } }> }>()).decisions[0]!.block.id).toBe("footer-default");
    const { slots } = await (await get("/slots")).json<{ slots: Array<{ id: string }> }>();
    expect(slots.map((s) => s.id)).toEqual(["hero", "sidebar", "footer"]);
    expect((await send("POST", "/slots/footer/archive")).status).toBe(200);
    expect((await decide("footer")).status).toBe(422);
  });

  it("changes a slot's default to another approved block serving only it", async () => {
    await approvedBlock("hero-house", { tags: ["default"], category: "general", campaign: "house" });
    const res = await send("PATCH", "/slots/hero", { defaultBlock: "hero-house" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: "update_slot", target: "hero", slot: { id: "hero", defaultBlock: "hero-house" } });
    // The old default may go now.
    expect((await send("POST", "/blocks/hero-default/archive")).status).toBe(200);
  });
});

describe("versions and rollback", () => {
  it("reads a past version and rolls back to it as a new version; newer blocks stay, archived", async () => {
    await approvedBlock("hero-new");
    const approvedAt = (await newest()).version;
    await send("PATCH", "/blocks/hero-shoes-trail", { html: "<p>oops</p>" });
    const past = await get(`/${approvedAt}`);
    expect(past.status).toBe(200);
    expect((await past.json<{ catalog: { blocks: Block[] } }>()).catalog.blocks.find((b) => b.id === "hero-shoes-trail")!.html).not.toBe("<p>oops</p>");
    const first = await get("/1");
    expect((await first.json<{ action: string }>()).action).toBe("seed");

    const res = await send("POST", "/rollback", { version: 1 }, {}, "ops");
    expect(res.status).toBe(200);
    const saved = await res.json<Saved & { catalog: { blocks: Block[] } }>();
    expect(saved).toMatchObject({ action: "rollback", restoredFrom: 1, author: "ops" });
    const trail = saved.catalog.blocks.find((b) => b.id === "hero-shoes-trail")!;
    expect(trail.html).toContain("Trail season");
    expect(trail.status).toBeUndefined();
    expect(saved.catalog.blocks.find((b) => b.id === "hero-new")!.status).toBe("archived");
    const { versions } = await (await get("/history")).json<{ versions: Saved[] }>();
    expect(versions.map((v) => v.action)).toEqual(["rollback", "update_block", "approve", "create_block", "seed"]);
  });
});

describe("block HTML is sanitised on save and what was removed is answered", () => {
  /** The constructs the issue names, and a few more (the sanitiser's own tests cover all of test/fixtures/xss-payloads.ts). */
  const CASES = ["script", "img-onerror", "svg-onload", "iframe-srcdoc", "a-javascript", "a-javascript-entities", "form-action-other-origin", "style-attribute", "meta-refresh"];
  const payloads = XSS_PAYLOADS.filter((p) => CASES.includes(p.name));

  it("covers every case named", () => expect(payloads.map((p) => p.name).sort()).toEqual([...CASES].sort()));

  it.each(payloads.map((p) => [p.name, p] as const))("create: %s is removed, reported and never stored", async (_, payload) => {
    const res = await send("POST", "/blocks", heroBlock("hero-xss", { html: payload.html }));
    expect(res.status).toBe(201);
    const saved = await res.json<Saved>();
    expect(saved.removed).toEqual(payload.removed);
    expect(saved.block!.html).toBe(sanitizeBlockHtml(payload.html).html);
    expect(saved.block!.html).not.toContain("__pwn");
    expect((await newest()).catalog.blocks.find((b) => b.id === "hero-xss")!.html).toBe(saved.block!.html);
  });

  it.each([
    { name: "PUT", run: () => send("PUT", "/blocks/hero-xss", heroBlock("hero-xss", { html: '<p onclick="top.__pwn(1)">x</p>' })) },
    { name: "PATCH", run: () => send("PATCH", "/blocks/hero-xss", { html: '<p onclick="top.__pwn(1)">x</p>' }) },
  ])("update ($name): the edit is sanitised too", async ({ run }) => {
    await send("POST", "/blocks", heroBlock("hero-xss"));
    const saved = await (await run()).json<Saved>();
    expect(saved.removed).toEqual([{ kind: "attribute", detail: "p onclick" }]);
    expect(saved.block!.html).toBe("<p>x</p>");
  });

  it("a new slot's default block is sanitised, and clean HTML reports nothing", async () => {
    const res = await send("POST", "/slots", { id: "footer", defaultBlock: { ...heroBlock("footer-default"), slots: ["footer"], tags: ["default"], html: "<p>ok</p><script>top.__pwn(2)</script>" } });
    expect((await res.json<Saved>()).removed).toEqual([{ kind: "element", detail: "script" }]);
    const clean = await send("POST", "/blocks", heroBlock("hero-clean"));
    expect((await clean.json<Saved>()).removed).toEqual([]);
  });
});
