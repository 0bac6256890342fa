// The client's inert insertion (client/inert.ts), the second line of defence: whatever the Worker
// sends, only what the block HTML policy allows enters the page. (Real Chromium runs the same
// table in test/e2e/sanitize.test.ts.)
import { describe, expect, it } from "vitest";
import { parseBlock } from "../../client/index.ts";
import { ALLOWED_TAGS } from "../../worker/sanitize/policy.ts";
import { SAFE_BLOCKS, XSS_PAYLOADS } from "../fixtures/xss-payloads.ts";

const serialise = (fragment: DocumentFragment) => {
  const div = document.createElement("div");
  div.append(fragment);
  return div;
};

describe("parseBlock drops what the policy does not allow", () => {
  it.each(XSS_PAYLOADS.map((p) => [p.name, p] as const))("%s", (_, payload) => {
    const root = serialise(parseBlock(payload.html));
    for (const element of root.querySelectorAll("*")) {
      expect(ALLOWED_TAGS).toContain(element.localName);
      for (const { name, value } of element.attributes) {
        expect(name).not.toMatch(/^on|^style$|^id$|^srcdoc$|formaction|^data-(?!nb-intent$)/i);
        expect(value.replace(/[\0- ]/g, "")).not.toMatch(/^(javascript|vbscript|data):/i);
      }
    }
    expect(root.innerHTML).not.toMatch(/javascript:|<script|<iframe|<svg|<math/i);
  });

  it("keeps a form action only when it stays on the page's origin", () => {
    const actions = ["/subscribe", "https://other.example/x", "//other.example/x", "/\\other.example/x", " javascript:x"].map(
      (action) => serialise(parseBlock(`<form action="${action}"></form>`)).querySelector("form")!.getAttribute("action"),
    );
    expect(actions).toEqual(["/subscribe", null, null, null, null]);
  });
});

describe("parseBlock keeps", () => {
  it.each(SAFE_BLOCKS)("%s", (block) => {
    const root = serialise(parseBlock(block));
    const expected = serialise(parseBlock(block)); // the same markup, parsed by this DOM
    expected.innerHTML = block;
    expect(root.innerHTML).toBe(expected.innerHTML);
  });
});
