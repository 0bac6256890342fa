// Block HTML never runs script in Chromium, in both modes. A dedicated Worker (wrangler dev) whose
// catalog has one slot per classic payload (test/fixtures/xss-payloads.ts) sits in front of a
// loopback origin: its /proxy/ pages have the slots filled at the edge (proxy mode), its /client/
// pages are passed through and filled by nb.js (client mode). In a third run the client gets the
// payloads unsanitised, as if from a broken or impersonated Worker: its own inert insertion is the
// only defence. A payload that ran would call `top.__pwn(name)`; the page's own control script and
// button prove the check would see it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page, Request as PageRequest, Response as PageResponse } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runWrangler, startDevServer, type DevServer } from "../../scripts/dev-server.ts";
import { GENEROUS_BUDGETS } from "../budgets.ts";
import { XSS_PAYLOADS } from "../fixtures/xss-payloads.ts";
import { openBrowser } from "./browser.ts";

const SLOTS_PER_PAGE = 10; // the most one decide (and one proxied page) fills
const slotOf = (i: number) => `p${i}`;
const groups = Array.from({ length: Math.ceil(XSS_PAYLOADS.length / SLOTS_PER_PAGE) }, (_, g) =>
  XSS_PAYLOADS.map((payload, i) => ({ payload, slot: slotOf(i) })).slice(g * SLOTS_PER_PAGE, (g + 1) * SLOTS_PER_PAGE),
);

/** One slot per payload, its only block the payload after a visible marker. */
const CATALOG = {
  version: 1,
  slots: Object.fromEntries(XSS_PAYLOADS.map((_, i) => [slotOf(i), { defaultBlock: `b-${slotOf(i)}` }])),
  blocks: XSS_PAYLOADS.map((payload, i) => ({
    id: `b-${slotOf(i)}`,
    slots: [slotOf(i)],
    category: "general",
    tags: [],
    campaign: "xss",
    priority: 1,
    value: 0,
    html: `<p class="marker">${payload.name}</p>${payload.html}`,
  })),
};

/** The origin's page of group `g`: its slots, a control script and button, and nb.js in client mode. */
function originPage(mode: "proxy" | "client", g: number): string {
  const slots = groups[g]!.map(({ slot }) => slot);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${mode} ${g}</title>
<meta name="nb:slots" content="${slots.join(",")}">
<script>top.__pwn("control")</script>${mode === "client" ? '<script src="/nb.js" async></script>' : ""}</head>
<body><button id="control" onclick="top.__pwn('control-click')">control</button>
${slots.map((slot) => `<div data-nb-slot="${slot}">default ${slot}</div>`).join("\n")}
</body></html>`;
}

let origin: Server;
let server: DevServer;

beforeAll(async () => {
  origin = createServer((req, res) => {
    const match = /^\/(proxy|client)\/(\d+)\.html/.exec(req.url ?? "");
    if (!match || !groups[Number(match[2])]) return void res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(originPage(match[1] as "proxy" | "client", Number(match[2])));
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), "nextbest-xss-"));
  const catalogFile = join(dir, "catalog.json");
  writeFileSync(catalogFile, JSON.stringify(CATALOG));
  server = await startDevServer({
    timeoutMs: 240_000,
    // Rate limits report only, as for the shared server: every browser comes from 127.0.0.1.
    vars: { HOLDOUT_RATE: "0", EXPLORATION_EPSILON: "0", RATE_LIMIT_MODE: "report", ...GENEROUS_BUDGETS, PROXY_ORIGIN: originUrl, PROXY_PREFIX: "/edge", PROXY_PERSONALIZE: "/proxy/*" },
    // The hostile catalog, written to the local KV before the Worker first reads it.
    seed: async (state) => {
      await runWrangler(state, ["kv", "key", "put", "catalog", "--binding", "CONFIG", "--path", catalogFile]);
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => origin?.close(resolve));
});

let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
/** Names passed to `top.__pwn` by anything on the pages of the current browser, and dialogs opened. */
let pwned: string[] = [];

beforeEach(async () => {
  browser = await openBrowser();
  pwned = [];
  await browser.context.exposeBinding("__pwn", (_source, name: string) => void pwned.push(String(name)));
  browser.context.on("page", (page) => page.on("dialog", (dialog) => (pwned.push(`dialog: ${dialog.message()}`), dialog.dismiss())));
});

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

type Mode = "proxy" | "client" | "unsanitised";
/** The consent cookie of proxy mode's browsers: personalisation yes, analytics no. */
const CONSENT_COOKIE = "personalization%3D1%26analytics%3D0";
const pagePath = (mode: Mode, g: number) => `/edge/${mode === "proxy" ? "proxy" : "client"}/${g}.html`;

/** Answers the page's decides with the payloads as written, as no Worker of ours would. */
async function unsanitisedDecides(page: Page): Promise<void> {
  await page.route("**/v1/decide", async (route) => {
    const { slots } = route.request().postDataJSON() as { slots: string[] };
    const decisions = slots.map((slot) => {
      const payload = XSS_PAYLOADS[Number(slot.slice(1))]!;
      const html = `<p class="marker">${payload.name}</p>${payload.html}`;
      return { slot, decisionId: `raw-${slot}`, block: { id: `b-${slot}`, html }, holdout: false, propensity: 1, modelVersion: null, reason: "ranked" };
    });
    await route.fulfill({ json: { decisions } });
  });
}

/**
 * The requests of `page` from now on that have not finished, each with its age and whether its
 * response headers came: what a navigation that never reaches `load` still waits for.
 */
function unfinishedRequests(page: Page): { list(): string[]; stop(): void } {
  const started = new Map<PageRequest, number>();
  const answered = new Set<PageRequest>();
  const onRequest = (request: PageRequest) => started.set(request, Date.now());
  const onResponse = (response: PageResponse) => answered.add(response.request());
  const onEnd = (request: PageRequest) => started.delete(request);
  page.on("request", onRequest).on("response", onResponse).on("requestfinished", onEnd).on("requestfailed", onEnd);
  return {
    list: () => [...started].map(([r, at]) => `${r.method()} ${r.url()} (${r.resourceType()}, ${Date.now() - at} ms, ${answered.has(r) ? "headers in, body not finished" : "no response headers"})`),
    stop: () => void page.off("request", onRequest).off("response", onResponse).off("requestfinished", onEnd).off("requestfailed", onEnd),
  };
}

/** Opens a group's page and waits until each slot shows its block. */
async function open(page: Page, mode: Mode, g: number): Promise<void> {
  const url = `${server.url}${pagePath(mode, g)}`;
  const unfinished = unfinishedRequests(page);
  // Parsed, not loaded: every slot is in the DOM once the document is. `load` also waits for the
  // blocks' images (`<img src="x">` goes through the proxy to the origin's 404), which say
  // nothing about script running. A CI run once waited 120 s for `load` without saying on what:
  // what is still pending is now reported, when the document stalls and when `load` comes late.
  await page.goto(url, { waitUntil: "domcontentloaded" }).catch(async (err: Error) => {
    // Say what the page still waits for, and what the Worker answers for it now, so a stalled
    // server, origin or subresource can be told from a stalled browser.
    const waiting = unfinished.list();
    const started = Date.now();
    // With the browser's consent, as the page was asked for (the personalised path when proxied).
    const headers = mode === "proxy" ? { cookie: `nb_consent=${CONSENT_COOKIE}` } : undefined;
    const answer = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) }).then(
      async (r) => `${r.status} after ${Date.now() - started} ms, ${(await r.text()).length} characters`,
      (e: Error) => `${e.message} after ${Date.now() - started} ms`,
    );
    throw new Error(`${err.message}\nrequests not finished: ${waiting.join("; ") || "none"}\nthe same URL fetched now: ${answer}`);
  });
  void page
    .waitForLoadState("load", { timeout: 30_000 })
    .catch(() => !page.isClosed() && console.warn(`${url}: no load event within 30 s of the document; requests not finished: ${unfinished.list().join("; ") || "none"}`))
    .finally(unfinished.stop);
  if (mode !== "proxy") {
    await page.waitForFunction(() => typeof (window as { nextbest?: unknown }).nextbest === "object");
    await page.evaluate(() => (window as unknown as { nextbest: { consent(a: object): Promise<unknown> } }).nextbest.consent({ personalization: true, analytics: false }));
  }
  for (const { payload, slot } of groups[g]!) {
    const element = page.locator(`[data-nb-slot="${slot}"]`);
    await element.locator(".marker").waitFor({ timeout: 60_000 }).catch(async (err: Error) => {
      // Say what the Worker answers now, so a failure on a busy machine can be told from a bug.
      const answer = await fetch(`${server.url}/v1/decide`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ visitorId: "diagnosis", slots: [slot], consent: { personalization: true, analytics: false } }),
      }).then(async (r) => `${r.status} ${(await r.text()).slice(0, 300)}`, (e: Error) => e.message);
      throw new Error(`${err.message}\nslot ${slot} shows ${JSON.stringify((await element.innerHTML()).slice(0, 200))}; a decide now answers ${answer}`);
    });
    expect(await element.locator(".marker").innerText()).toBe(payload.name);
    expect(await element.getAttribute("data-nb-block")).toBe(`b-${slot}`);
    expect(await element.getAttribute("data-nb-source")).toBe(mode === "proxy" ? "edge" : null);
  }
  // Every image in the slots loaded or failed: an `onload` or `onerror` the sanitiser let through
  // has had its event (not waiting for `load` above must not let a slow image hide one).
  await page
    .waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("[data-nb-slot] img")].every((img) => img.complete), undefined, { timeout: 60_000 })
    .catch((err: Error) => {
      throw new Error(`${err.message}\nimages in the slots still loading; requests not finished: ${unfinished.list().join("; ") || "none"}`);
    });
}

async function consented(context: BrowserContext) {
  await context.addCookies([{ name: "nb_consent", value: CONSENT_COOKIE, url: server.url }]);
}

describe.each(["proxy", "client", "unsanitised"] as const)("%s mode in Chromium: no block payload runs", (mode) => {
  it.each(groups.map((group, g) => [group.map(({ payload }) => payload.name).join(", "), g] as const))("%s", async (_, g) => {
    if (mode === "proxy") await consented(browser!.context);
    const page = await browser!.context.newPage();
    if (mode === "unsanitised") await unsanitisedDecides(page);
    await open(page, mode, g);
    // Time for whatever loads, errors or animates (onerror, onload, ontoggle, autofocus) to fire.
    await page.waitForTimeout(1_500);
    await page.click("#control");
    await expect.poll(() => pwned.includes("control-click"), { timeout: 30_000 }).toBe(true);

    // Click everything a visitor could click in each block; a click that navigates reloads the page.
    for (const { payload, slot } of groups[g]!) {
      if (!payload.click) continue;
      const targets = page.locator(`[data-nb-slot="${slot}"] ${payload.click}`);
      const count = await targets.count();
      for (let i = 0; i < count; i++) {
        await targets.nth(i).click({ timeout: 10_000, force: true });
        await page.waitForTimeout(500);
        if (!page.url().endsWith(pagePath(mode, g)) || (await page.locator(`[data-nb-slot="${slot}"] .marker`).count()) === 0) await open(page, mode, g);
      }
    }
    await page.waitForTimeout(500);
    expect(pwned.filter((name) => !name.startsWith("control"))).toEqual([]);
    expect(pwned).toContain("control");
  });
});
