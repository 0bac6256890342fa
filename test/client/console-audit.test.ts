// The Decisions and Visitors pages' pure parts: the search's address ↔ the audit route's query,
// the preview body a form describes, the erasure route of an id, the lookup an address names.
import { describe, expect, it } from "vitest";
import { apiTime, decisionHref, listPath, num, searchOf, searchParams } from "../../console/ui/audit.ts";
import { erasurePath } from "../../console/ui/erase.ts";
import { previewBody } from "../../console/ui/preview.ts";
import { lookupOf } from "../../console/pages/visitors.ts";

describe("the audit search in the address", () => {
  it("reads every field from the address, absent ones empty, and writes back only the filled ones", () => {
    const search = searchOf(new URLSearchParams("visitor=%20v1%20&block=hero-sale&other=x"));
    expect(search).toEqual({ visitor: "v1", block: "hero-sale", model: "", slot: "", from: "", to: "" });
    expect(searchParams(search)).toEqual({ visitor: "v1", block: "hero-sale" });
    expect(searchParams(search, { cursor: "abc" })).toEqual({ visitor: "v1", block: "hero-sale", cursor: "abc" });
  });

  it("builds the route's query: datetime-local times in the viewer's zone become ms, others go as typed", () => {
    const local = "2026-11-30T23:00";
    expect(apiTime(local)).toBe(String(new Date(local).getTime()));
    expect(apiTime("2026-11-30T23:00:00Z")).toBe("2026-11-30T23:00:00Z");
    expect(apiTime("1764543600000")).toBe("1764543600000");
    const path = listPath({ visitor: "v 1", model: "m@1", from: local }, { limit: 20, cursor: "c1" });
    const q = new URL(path, "https://x.example").searchParams;
    expect(path.startsWith("/admin/decisions?")).toBe(true);
    expect(Object.fromEntries(q)).toEqual({ visitor: "v 1", model: "m@1", from: String(new Date(local).getTime()), limit: "20", cursor: "c1" });
    expect(listPath({})).toBe("/admin/decisions?limit=50");
  });

  it("links one decision and formats numbers", () => {
    expect(decisionHref("a b&c")).toBe("#/decisions?id=a+b%26c");
    expect([num(0.123456), num(null), num(undefined), num(Number.NaN), num(2)]).toEqual(["0.1235", "–", "–", "–", "2"]);
  });
});

describe("the Visitors page", () => {
  it("names a visitor or a customer from the address (customer first), nothing otherwise", () => {
    expect(lookupOf(new URLSearchParams("visitor=v1"))).toEqual({ kind: "visitor", id: "v1" });
    expect(lookupOf(new URLSearchParams("customer=c1&visitor=v1"))).toEqual({ kind: "customer", id: "c1" });
    expect(lookupOf(new URLSearchParams("visitor=%20"))).toBeNull();
  });

  it("erases through the route of the id's kind, the id escaped", () => {
    expect(erasurePath("visitor", "v/1")).toBe("/admin/visitors/v%2F1");
    expect(erasurePath("customer", "c 1")).toBe("/admin/customers/c%201");
  });

  it("describes the preview request the form holds", () => {
    const form = { slots: ["hero"], personalization: true, analytics: false, url: " https://shop.example/shoes ", country: "de", device: "mobile", includeDrafts: true };
    expect(previewBody("v1", form)).toEqual({
      visitorId: "v1", slots: ["hero"], consent: { personalization: true, analytics: false }, context: { url: "https://shop.example/shoes" }, country: "DE", device: "mobile", includeDrafts: true,
    });
    expect(previewBody("v1", { ...form, url: "", country: "", device: "" })).toEqual({
      visitorId: "v1", slots: ["hero"], consent: { personalization: true, analytics: false }, context: {}, includeDrafts: true,
    });
  });
});
