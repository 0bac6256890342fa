// Pure parts of the console's Content and Guardrails pages: the diff rows (jsdiff), the block
// form → API body, the form ↔ configuration paths.
import { describe, expect, it } from "vitest";
import { blockBody, isoOf, localOf } from "../../console/pages/content-editor.ts";
import { getPath, setPath } from "../../console/pages/guardrails.ts";
import { diffCounts, diffRows } from "../../console/ui/diff.ts";

describe("diffRows", () => {
  it("marks added and removed JSON lines and keys in canonical order", () => {
    const rows = diffRows({ status: "draft", review: { editedBy: "ana" } }, { review: { editedBy: "ana", approvedBy: "bo" }, status: "approved" });
    expect(rows.filter((r) => r.kind === "added").map((r) => (r.kind === "added" ? r.text.trim() : ""))).toEqual(['"approvedBy": "bo",', '"status": "approved"']);
    expect(rows.filter((r) => r.kind === "removed").map((r) => (r.kind === "removed" ? r.text.trim() : ""))).toEqual(['"status": "draft"']);
  });

  it("folds long unchanged runs between changes, keeping two lines of context", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const after = before.replace("line 0", "first").replace("line 19", "last");
    const rows = diffRows(before, after);
    expect(rows).toContainEqual({ kind: "fold", count: 14 });
    expect(diffCounts(rows)).toEqual({ added: 2, removed: 2 });
  });

  it.each([
    [undefined, { a: 1 }, 0, 3],
    [{ a: 1 }, { a: 1 }, 0, 0],
    ["x\n", "x\ny\n", 0, 1],
  ])("counts the lines of %j → %j", (before, after, removed, added) => {
    expect(diffCounts(diffRows(before, after))).toEqual({ added, removed });
  });
});

describe("the block form", () => {
  it("sends the API's block body with the schedule inside rules", () => {
    const form = new FormData();
    for (const [k, v] of Object.entries({ id: "b1", slots: "hero, sidebar", category: "c", tags: "", campaign: "k", priority: "10", value: "2.5", html: "<p>x</p>", startAt: "2026-12-01T10:00", endAt: "", rules: '{"devices":["mobile"],"startAt":"old"}' })) form.set(k, v);
    expect(blockBody(form)).toEqual({ id: "b1", slots: ["hero", "sidebar"], category: "c", tags: [], campaign: "k", priority: 10, value: 2.5, html: "<p>x</p>", rules: { devices: ["mobile"], startAt: isoOf("2026-12-01T10:00") } });
  });

  it("refuses rules that are not JSON with a path: message", () => {
    const form = new FormData();
    form.set("rules", "{nope");
    expect(() => blockBody(form)).toThrow("rules: not valid JSON");
  });

  it("round-trips a schedule through the datetime-local field", () => {
    const iso = isoOf("2026-12-01T10:30")!;
    expect(localOf(iso)).toBe("2026-12-01T10:30");
    expect(localOf(undefined)).toBe("");
  });
});

describe("configuration paths", () => {
  it("sets a value by path without touching the original, creating arrays and objects", () => {
    const config = { frequencyCaps: { global: [{ limit: 3, window: "day" }] } };
    const next = setPath(config, ["frequencyCaps", "global", 0, "limit"], -1);
    expect(getPath(next, ["frequencyCaps", "global", 0])).toEqual({ limit: -1, window: "day" });
    expect(config.frequencyCaps.global[0]!.limit).toBe(3);
    expect(setPath({}, ["brand", "forbiddenOnPages", 0], "x")).toEqual({ brand: { forbiddenOnPages: ["x"] } });
    expect(getPath(next, ["nope", "deeper"])).toBeUndefined();
  });
});
