/**
 * A proxied page reads the visitor's session signals while the origin answers and counts its view
 * with the selection (worker/proxy/page-session.ts): the counts are what a page view per page
 * gave, for visitors in the control group too, and a request that decides nothing stores nothing.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { CONSENT, proxied } from "./proxy-helpers.ts";

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
const SESSION = { sessionTimeoutMs: 30 * 60_000 };
let n = 0;
const visitor = (held: boolean) => {
  for (;;) {
    const id = `page-session-visitor-${n++}`;
    if (isHeldOut(id, holdout) === held) return id;
  }
};
const objectOf = async (id: string) => env.VISITOR.get(env.VISITOR.idFromName(await visitorKey(id)));
const browse = async (id: string, paths: string[]) => {
  for (const path of paths) expect((await proxied(path, { headers: { cookie: `${CONSENT}; nb_vid=${id}` } })).status).toBe(path.includes("no-such") ? 404 : 200);
};
/** Whether the visitor's object has any table (state stored). */
const hasState = async (id: string) =>
  runInDurableObject(await objectOf(id), (_: unknown, state: DurableObjectState) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().length > 0);

describe("proxy mode: the page view counted with the selection", () => {
  it.each([
    ["treatment", false],
    ["universal control group", true],
  ])("%s: three category pages and the home page count as three views of the category, one session", async (_, held) => {
    const id = visitor(held);
    await browse(id, ["/edge/bags", "/edge/shoes", "/edge/bags", "/edge/"]);
    expect(await (await objectOf(id)).sessionSignals({ now: Date.now(), ...SESSION })).toEqual({ categoryViews: { bags: 2, shoes: 1 }, visitCount: 1 });
  });

  it("a request that decides nothing (a missing page, a stylesheet) leaves a new visitor without state", async () => {
    const id = visitor(false);
    await browse(id, ["/edge/no-such-page.html", "/edge/style.css"]);
    expect(await hasState(id)).toBe(false);
  });

  it("a page whose session read fails streams the origin's page unchanged, as a failed page view did", async () => {
    const id = visitor(false);
    const page = () => proxied("/edge/", { headers: { cookie: `${CONSENT}; nb_vid=${id}` } });
    expect(await (await page()).text()).toContain("data-nb-decision");
    // The objects' session read throws (as when storage is unreachable); RPC calls the class's method.
    const visitorClass = await runInDurableObject(await objectOf(id), (o: object) => Object.getPrototypeOf(o) as { sessionSignals: () => Promise<unknown> });
    const read = visitorClass.sessionSignals;
    visitorClass.sessionSignals = () => Promise.reject(new Error("storage unavailable"));
    try {
      const res = await page();
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain("data-nb-decision");
    } finally {
      visitorClass.sessionSignals = read;
    }
    expect(await (await page()).text()).toContain("data-nb-decision");
  });
});
