// The console's frame in Chromium: sign-in with the admin token, the session cookie out of
// scripts' reach, accessibility, phone width, and a cross-site form post refused.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { browserPerTest } from "./browser.ts";
import { CONSOLE_VIEWPORTS, openPage, seriousViolations, signIn } from "./console-helpers.ts";

const base = inject("baseUrl");
const browser = browserPerTest();

describe("console sign-in", () => {
  it("exchanges the token for a session no script can read, and keeps the token out of storage and URLs", async () => {
    const page = await browser.context.newPage();
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    await signIn(page, "ana");
    await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeDefined();
    await page.getByRole("heading", { name: "Health" }).waitFor();
    const token = inject("adminToken");
    const readable = await page.evaluate(() => ({ cookie: document.cookie, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), url: location.href }));
    expect(readable.cookie).toBe("");
    expect(JSON.stringify(readable)).not.toContain(token);
    expect(requested.filter((url) => url.includes(token))).toEqual([]);
    const [cookie] = await browser.context.cookies(base);
    expect(cookie).toMatchObject({ name: "nb_console", httpOnly: true, secure: true, sameSite: "Strict" });
    // The skip link moves focus to the content and stays on the page.
    await page.keyboard.press("Tab");
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("main");
    expect(await page.evaluate(() => location.hash)).toBe("#/overview");
    // A reload keeps the session; signing out ends it.
    await page.reload();
    await page.getByText("Signed in as").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin token").waitFor();
    expect((await page.request.get(`${base}/admin/kill-switch`)).status()).toBe(401);
  });

  it("shows a wrong token as an error and stays signed out", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/console/`);
    await page.getByLabel("Your name").fill("ana");
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").innerText()).toContain("unauthorized");
    expect(await browser.context.cookies(base)).toEqual([]);
  });

  it.each(CONSOLE_VIEWPORTS)("has no serious or critical axe violations at $width px (sign-in and overview)", async (viewport) => {
    const page = await browser.context.newPage();
    await page.setViewportSize(viewport);
    await page.goto(`${base}/console/`);
    await page.getByLabel("Admin token").waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await signIn(page);
    await openPage(page, "overview", "Overview");
    expect(await seriousViolations(page)).toEqual([]);
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1)).toBe(true);
  });
});

describe("a session changed in another tab", () => {
  it("asks to sign in again instead of acting under a name the page does not show", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "frank");
    // Another tab of the same browser signs in as someone else (the browser's cookie jar): new cookie, new CSRF token.
    const again = await page.request.post(`${base}/console/session`, { data: { token: inject("adminToken"), name: "grace" } });
    expect(again.status()).toBe(200);
    await page.getByRole("button", { name: "Turn kill switch on…" }).click();
    await page.getByRole("textbox", { name: /^Reason/ }).fill("stale tab");
    await page.getByRole("button", { name: "Confirm: turn kill switch on" }).click();
    await page.getByLabel("Admin token").waitFor();
    const state = await page.request.get(`${base}/admin/kill-switch`, { headers: { authorization: `Bearer ${inject("adminToken")}` } });
    expect((await state.json()).on).toBe(false);
  });
});

describe("CSRF", () => {
  let attacker: Server;
  let attackerUrl: string;
  beforeAll(async () => {
    // Another site (another origin) with a form that posts to the admin API when opened.
    attacker = createServer((_, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><form id="f" method="post" enctype="text/plain" action="${base}/admin/kill-switch">
<input name='{"on":true,"reason":"csrf","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`),
    );
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => attacker.close(resolve)));

  it("refuses a cross-site form post to a state-changing route, even while signed in", async () => {
    const page = await browser.context.newPage();
    await signIn(page, "ana");
    const posted = page.waitForResponse((r) => r.url() === `${base}/admin/kill-switch` && r.request().method() === "POST");
    await page.goto(attackerUrl);
    const answer = await posted;
    expect([401, 403]).toContain(answer.status());
    const state = await page.request.get(`${base}/admin/kill-switch`, { headers: { authorization: `Bearer ${inject("adminToken")}` } });
    expect((await state.json()).on).toBe(false);
  });
});
