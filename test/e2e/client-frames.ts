/**
 * Test pages for the client in frames: served by the browser context itself under `/__test/`
 * (on any origin, so two loopback names make two origins), while nb.js, nb-extras.js and the
 * Worker's API are the real ones from `wrangler dev`.
 */
import type { BrowserContext, Frame, Page } from "playwright-core";

/** Serves `pages[name]` at `<any origin>/__test/<name>` for the context's pages and frames. */
export async function servePages(context: BrowserContext, pages: Record<string, string>): Promise<void> {
  await context.route(/\/__test\//, (route) => {
    const body = pages[new URL(route.request().url()).pathname.slice("/__test/".length)];
    return body === undefined ? route.fulfill({ status: 404 }) : route.fulfill({ contentType: "text/html; charset=utf-8", body });
  });
}

/** A page with one slot and the script tag, as a site would embed it. */
export const SLOT_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>slot</title>
<script src="/nb.js" async></script></head>
<body><div data-nb-slot="hero"><p>Hero default</p></div></body></html>`;

/** The same page on another loopback name: `http://127.0.0.1:P` ⇄ `http://localhost:P`. */
export function otherOrigin(base: string): string {
  const url = new URL(base);
  url.hostname = url.hostname === "localhost" ? "127.0.0.1" : "localhost";
  return url.origin;
}

/** The frame of `page` whose URL ends with `suffix`, once it exists (within 10 s). */
export async function frameOf(page: Page, suffix: string): Promise<Frame> {
  for (let tries = 0; tries < 100; tries++) {
    const frame = page.frames().find((f) => f.url().endsWith(suffix));
    if (frame) return frame;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no frame ${suffix} in ${page.url()}`);
}

/** What `window.nextbest.consentState()` answers in a frame. */
export function consentStateIn(frame: Frame): Promise<unknown> {
  return frame.evaluate(async () => (await (window as unknown as { nextbest?: { consentState(): Promise<unknown> } }).nextbest?.consentState()) ?? null);
}
