// The block HTML sanitiser (worker/sanitize/), in workerd: every classic payload is removed and
// reported, what a block may hold is kept, and sanitising is idempotent.
import { describe, expect, it } from "vitest";
import { sanitizeBlockHtml, sanitizeBlockHtmlCached } from "../../worker/sanitize/sanitize.ts";
import { SAFE_BLOCKS, XSS_PAYLOADS } from "../fixtures/xss-payloads.ts";

/** Anything in sanitised HTML that could run script, were the policy broken. */
const DANGEROUS = /<\s*(script|iframe|svg|math|object|embed|meta|base|style|link|template|noscript|area|body)\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:|vbscript:|data:text|srcdoc|formaction|xlink/i;

describe("sanitizeBlockHtml removes and reports", () => {
  it.each(XSS_PAYLOADS.map((p) => [p.name, p] as const))("%s", (_, payload) => {
    const { html, removed } = sanitizeBlockHtml(payload.html);
    expect(removed).toEqual(payload.removed);
    expect(html).not.toMatch(DANGEROUS);
    expect(html).not.toContain("__pwn");
    if (payload.kept) expect(html).toContain(payload.kept);
    // Sanitised HTML is a fixed point: nothing more to remove.
    expect(sanitizeBlockHtml(html)).toEqual({ html, removed: [] });
  });
});

describe("sanitizeBlockHtml keeps", () => {
  it.each(SAFE_BLOCKS)("%s", (block) => {
    expect(sanitizeBlockHtml(block)).toEqual({ html: block, removed: [] });
  });

  it("the text of removed elements that are not raw text or foreign content", () => {
    expect(sanitizeBlockHtml("<center><blink>Sale</blink> now</center>")).toEqual({
      html: "Sale now",
      removed: [
        { kind: "element", detail: "center" },
        { kind: "element", detail: "blink" },
      ],
    });
  });

  it("a relative or same-site form action, in any case of method", () => {
    const form = '<form action="/subscribe?x=1" method="POST"><button type="submit">go</button></form>';
    expect(sanitizeBlockHtml(form)).toEqual({ html: form, removed: [] });
  });

  it("each distinct removal once", () => {
    const { removed } = sanitizeBlockHtml('<img src=a onerror=x><img src=b onerror=y><a href="javascript:1">a</a><a href="JAVASCRIPT:2">b</a>');
    expect(removed).toEqual([
      { kind: "attribute", detail: "img onerror" },
      { kind: "url", detail: "a href javascript:" },
    ]);
  });
});

describe("sanitizeBlockHtmlCached", () => {
  it("answers what sanitizeBlockHtml does, the same object for the same input", () => {
    const html = '<p onclick="x()">hi</p>';
    const first = sanitizeBlockHtmlCached(html);
    expect(first).toEqual(sanitizeBlockHtml(html));
    expect(sanitizeBlockHtmlCached(html)).toBe(first);
  });
});
