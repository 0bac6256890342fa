// The demo shop in public/: every page is wired the way the client and the Worker's catalog expect.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { findSlotNames, readPageCategory, readPageType } from "../../client/index.ts";
import { acceptDisabledResourceLoads } from "./helpers.ts";

acceptDisabledResourceLoads(); // the pages link style.css and scripts

// A string path: in happy-dom, the global URL is happy-dom's, which node:url does not accept.
const publicDir = join(dirname(fileURLToPath(import.meta.url)), "../../public/");
const PAGES: Record<string, { type: string; category?: string }> = {
  "index.html": { type: "home" },
  "shoes.html": { type: "category", category: "shoes" },
  "bags.html": { type: "category", category: "bags" },
  "jackets.html": { type: "category", category: "jackets" },
  "product-trail-runner.html": { type: "product", category: "shoes" },
  "product-weekender.html": { type: "product", category: "bags" },
};

function load(file: string): Document {
  return new DOMParser().parseFromString(readFileSync(publicDir + file, "utf8"), "text/html");
}

describe.each(Object.entries(PAGES))("public/%s", (file, expected) => {
  let doc: Document;
  beforeAll(() => {
    doc = load(file);
  });

  it("declares its page type and category", () => {
    expect(readPageType(doc)).toBe(expected.type);
    expect(readPageCategory(doc)).toBe(expected.category);
  });

  it("has a hero and a sidebar slot with default content", () => {
    expect(findSlotNames(doc)).toEqual(["hero", "sidebar"]);
    expect(doc.querySelector('div[data-nb-slot="hero"] .nb-block')).not.toBeNull();
    expect(doc.querySelector('aside[data-nb-slot="sidebar"] .nb-block')).not.toBeNull();
  });

  it("loads nb.js async and has no inline scripts", () => {
    const scripts = [...doc.querySelectorAll("script")];
    expect(scripts.find((s) => s.getAttribute("src") === "/nb.js")?.hasAttribute("async")).toBe(true);
    expect(scripts.every((s) => s.getAttribute("src") && !s.textContent?.trim())).toBe(true);
    expect(doc.querySelector("[onclick], [onload]")).toBeNull();
  });

  it("links every page, the consent bar and the debug line", () => {
    const links = [...doc.querySelectorAll("header nav a")].map((a) => a.getAttribute("href"));
    expect(links).toEqual(Object.keys(PAGES).map((page) => `/${page}`));
    expect(doc.querySelector('#nb-consent[hidden] button[data-consent="accept"]')?.textContent).toBe("Accept personalisation");
    expect(doc.querySelector('#nb-consent button[data-consent="decline"]')?.textContent).toBe("Decline");
    expect(doc.getElementById("nb-debug")).not.toBeNull();
    expect(doc.querySelector("footer button[data-nb-restart]")?.textContent).toBe("Start over as a new visitor");
  });

  it("says in the consent bar which cookies there are (the script's nb_consent, the edge's nb_vid)", () => {
    const text = doc.querySelector("#nb-consent p")?.textContent?.replace(/\s+/g, " ") ?? "";
    expect(text).not.toMatch(/never a cookie/i);
    expect(text).toContain("your answer in a cookie (nb_consent)");
    expect(text).toContain("the visitor id is a cookie too (nb_vid)");
  });

  it("declares Add to cart as an intent on product pages", () => {
    const button = [...doc.querySelectorAll("button")].find((b) => b.textContent === "Add to cart");
    expect(button?.getAttribute("data-nb-intent")).toBe(expected.type === "product" ? "add_to_cart" : undefined);
  });

  it("refers only to files that exist", () => {
    const refs = [...doc.querySelectorAll("[src], link[href]")].map((el) => el.getAttribute("src") ?? el.getAttribute("href"));
    for (const ref of refs) {
      if (ref === "/nb.js") continue; // built by npm run build:client
      expect(existsSync(publicDir + ref!.slice(1)), ref!).toBe(true);
    }
  });
});

describe("public/style.css", () => {
  const css = readFileSync(publicDir + "style.css", "utf8");

  it("reserves the slots' height so rendering does not shift the page", () => {
    expect(css).toMatch(/\.slot-hero\s*{[^}]*min-height:/);
    expect(css).toMatch(/\.slot-sidebar\s*{[^}]*min-height:/);
  });

  it("lets only the slots wait for nb.js, and shows their default content after 1 s without it", () => {
    const rule = css.match(/([^{}]*data-nb-state="pending"[^{}]*){([^}]*)}/);
    expect(rule, "a rule for pending slots").not.toBeNull();
    const [, selectors, declarations] = rule!;
    expect(selectors).toContain('[data-nb-slot]:not([data-nb-state], [data-nb-source]) > *'); // before nb.js runs; never edge-filled slots
    expect(selectors).toContain('[data-nb-slot][data-nb-state="pending"] > *');
    expect(declarations).toMatch(/visibility:\s*hidden/); // keeps the reserved space (no display: none)
    expect(declarations).toMatch(/animation:\s*nb-reveal 0s 1s forwards/);
    expect(css).toMatch(/@keyframes nb-reveal\s*{\s*to\s*{\s*visibility:\s*visible;?\s*}\s*}/);
    expect(css).not.toMatch(/(^|[\s,}])(body|html|main)[^{]*{[^}]*(visibility:\s*hidden|opacity:\s*0)/);
  });

  it.each(["nb-block", "nb-shoes", "nb-bags", "nb-jackets", "nb-general"])("styles .%s", (name) => {
    expect(css).toMatch(new RegExp(`\\.${name}\\b[^{]*{`));
  });
});
