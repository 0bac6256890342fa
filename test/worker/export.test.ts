import { describe, expect, it } from "vitest";
import type { LoggedDecision } from "../../worker/export/line.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { adminGet, auditRecord, insertEvent, writeAudit } from "./audit-fixtures.ts";

const T0 = 1_766_000_000_000;
const ROWS = 450; // more than two pages of the reader (200 a page)

const seeded = (async () => {
  const records = [];
  for (let i = 0; i < ROWS; i++) {
    records.push(
      await auditRecord({
        decisionId: `exp-${String(i).padStart(4, "0")}`,
        visitorId: `exp-v-${i % 7}`,
        time: T0 + Math.floor(i / 3), // several decisions share a millisecond
        holdout: i % 10 === 0,
        slot: i % 2 ? "sidebar" : "hero",
      }),
    );
  }
  await writeAudit(records);
  const d = { decisionId: "exp-0001", visitorId: "exp-v-1" };
  await insertEvent({ ...d, time: T0 + 10, type: "impression" });
  await insertEvent({ ...d, time: T0 + 11, type: "click" });
  await insertEvent({ ...d, time: T0 + 12, type: "conversion", value: 10 });
  await insertEvent({ ...d, time: T0 + 13, type: "conversion", value: 5 });
  // Someone else's event naming this decision says nothing about it.
  await insertEvent({ decisionId: "exp-0001", visitorId: "exp-intruder", time: T0 + 14, type: "conversion", value: 1000 });
})();

async function exportLines(query: string): Promise<{ res: Response; lines: string[] }> {
  await seeded;
  const res = await adminGet(`/admin/export?from=${T0}&to=${T0 + ROWS}&${query}`);
  const text = await res.text();
  return { res, lines: text.split("\n").filter(Boolean) };
}

describe("GET /admin/export", () => {
  it("streams every decision as one JSON line, oldest first, across pages", async () => {
    await seeded;
    const res = await adminGet(`/admin/export?from=${T0}&to=${T0 + ROWS}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    // Read it as a stream, chunk by chunk.
    const reader = res.body!.getReader();
    let chunks = 0;
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    expect(chunks).toBeGreaterThanOrEqual(3);
    const lines = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as LoggedDecision);
    expect(lines.map((l) => l.decisionId)).toEqual(Array.from({ length: ROWS }, (_, i) => `exp-${String(i).padStart(4, "0")}`));
    expect(text.endsWith("\n")).toBe(true);
  });

  it("writes exactly the trainer's line format, outcomes from the decision's own events", async () => {
    const { lines } = await exportLines("");
    const line = lines.find((l) => l.includes('"exp-0001"'))!;
    expect(line).toBe(
      JSON.stringify({
        decisionId: "exp-0001",
        time: T0,
        visitorKey: await visitorKey("exp-v-1"),
        slot: "sidebar",
        modelVersion: "nextbest-default@abcdef012345",
        featureNames: ["page_category_match", "block_default"],
        candidates: [
          { blockId: "hero-shoes-trail", features: [1, 0], score: 0.4 },
          { blockId: "hero-default", features: [0, 1], score: 0.1 },
        ],
        chosenBlockId: "hero-shoes-trail",
        propensity: 0.975,
        holdout: false,
        outcomes: { impression: 1, click: 1, conversion: 1, value: 15 },
      }),
    );
    const quiet = JSON.parse(lines.find((l) => l.includes('"exp-0002"'))!) as LoggedDecision;
    expect(quiet.outcomes).toEqual({ impression: 0, click: 0, conversion: 0, value: 0 });
  });

  it.each([
    { query: "holdout=false", count: ROWS - ROWS / 10 },
    { query: "slot=hero", count: ROWS / 2 },
    { query: "model=nobody", count: 0 },
  ])("filters $query", async ({ query, count }) => {
    const { res, lines } = await exportLines(query);
    expect(res.status).toBe(200);
    expect(lines).toHaveLength(count);
  });

  it("refuses a bad window before streaming", async () => {
    const res = await adminGet("/admin/export?from=soon");
    expect(res.status).toBe(400);
  });
});
