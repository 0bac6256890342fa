// Block HTML is served sanitised in both modes: a catalog in KV whose blocks carry every classic
// payload reaches the decide answer and the proxied page only as sanitizeBlockHtml's output.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CATALOG_KEY, DEMO_CATALOG } from "../../worker/catalog/store.ts";
import { expireConfigCaches } from "../../worker/config-health/last-good.ts";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { personalizeHtml } from "../../worker/proxy/rewrite.ts";
import { sanitizeBlockHtml } from "../../worker/sanitize/sanitize.ts";
import { XSS_PAYLOADS } from "../fixtures/xss-payloads.ts";
import { decideOk } from "./helpers.ts";
import { CONSENT, proxied } from "./proxy-helpers.ts";

/** Every payload at once, after a marker naming the block. */
const hostile = (id: string) => `<p>${id}</p>${XSS_PAYLOADS.map((p) => p.html).join("")}`;
const HOSTILE_CATALOG = { ...DEMO_CATALOG, version: 777, blocks: DEMO_CATALOG.blocks.map((b) => ({ ...b, html: hostile(b.id) })) };
const served = (id: string) => sanitizeBlockHtml(hostile(id)).html;

/** Sanitised HTML never holds these (a broken policy would let one through). */
const DANGEROUS = /<\s*(script|iframe|svg|math|object|embed|meta|base|style|link|template|noscript)\b|\son[a-z]+\s*=|javascript:|data:text|srcdoc|formaction/i;

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };
let n = 0;
const visitor = () => {
  for (;;) {
    const id = `sanitize-${n++}`;
    if (!isHeldOut(id, holdout)) return id;
  }
};

async function storeCatalog(catalog: unknown) {
  await env.CONFIG.put(CATALOG_KEY, JSON.stringify(catalog));
  expireConfigCaches();
}

afterEach(() => storeCatalog(DEMO_CATALOG));

describe("a catalog whose blocks carry script", () => {
  it("is served sanitised in the decide answer (client mode)", async () => {
    await storeCatalog(HOSTILE_CATALOG);
    const { decisions } = await decideOk({ visitorId: visitor(), slots: ["hero", "sidebar"], consent: { personalization: true } });
    expect(decisions).toHaveLength(2);
    for (const { block } of decisions) {
      expect(block.html).toBe(served(block.id));
      expect(block.html).toContain(`<p>${block.id}</p>`);
      expect(block.html).not.toMatch(DANGEROUS);
    }
  });

  it("is inserted sanitised into the slots of a proxied page (proxy mode)", async () => {
    await storeCatalog(HOSTILE_CATALOG);
    const res = await proxied("/edge/", { headers: { cookie: CONSENT } });
    expect(res.status).toBe(200);
    const page = await res.text();
    const filled = [...page.matchAll(/data-nb-block="([^"]+)"[^>]*>/g)].map((m) => m[1]!);
    expect(filled.length).toBeGreaterThan(0);
    for (const id of filled) expect(page).toContain(served(id));
    expect(page).not.toContain("__pwn");
  });
});

describe("proxy insertion", () => {
  it("sanitises whatever fill it is handed", async () => {
    const page = new Response('<html><body><div data-nb-slot="hero">default</div></body></html>', { headers: { "content-type": "text/html" } });
    const fill = { slot: "hero", decisionId: "d-1", blockId: "b", html: '<p>hi</p><script>top.__pwn("x")</script><img src=x onerror=top.__pwn("y")>', reason: "ranked", modelVersion: null };
    const out = await personalizeHtml(page, async () => [fill], { budgetMs: 30_000 }).text();
    expect(out).toContain('<div data-nb-slot="hero" data-nb-decision="d-1" data-nb-block="b" data-nb-reason="ranked" data-nb-source="edge"><p>hi</p><img src="x" /></div>');
    expect(out).not.toContain("__pwn");
  });
});
