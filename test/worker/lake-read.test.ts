import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { LoggedDecision } from "../../worker/export/line.ts";
import { loggedDecisions, type LoggedFilter } from "../../worker/export/query.ts";
import { loadLoggedDecisions } from "../../worker/evaluation/load.ts";
import { flushLake } from "../../worker/lake/flush.ts";
import { lakeLoggedDecisions, listLakeFiles } from "../../worker/lake/read.ts";
import { visitorKey } from "../../worker/visitor/key.ts";
import { auditRecord, writeAudit } from "./audit-fixtures.ts";
import { resetLake } from "./lake-fixtures.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 9, 1, 20, 0, 0);
const N = 600;
const SPAN = 3 * DAY; // decisions over three days, a few per hour

/** Decisions of two slots, two models, holdouts (no scores), several sharing a millisecond. */
async function seed(): Promise<void> {
  const records = [];
  for (let i = 0; i < N; i++) {
    const holdout = i % 9 === 0;
    records.push(
      await auditRecord({
        decisionId: `lr-${(i * 7919) % 1000}-${i}`, // ids not in time order
        visitorId: `lr-v-${i % 13}`,
        time: T0 + Math.floor((i * SPAN) / N / 2) * 2, // pairs share a millisecond
        slot: i % 3 ? "hero" : "sidebar",
        modelVersion: holdout ? null : i % 4 ? "m@1" : "m@2",
        holdout,
        holdoutScope: holdout ? "universal" : null,
        scores: holdout ? [] : [0.1 + (i % 5) / 10, 0.2],
        features: holdout ? [] : [[i % 2, 0.5], [1, i / 100]],
        propensity: holdout ? 1 : i % 8 === 0 ? null : 0.95,
      }),
    );
  }
  for (let i = 0; i < records.length; i += 200) await writeAudit(records.slice(i, i + 200));
  const events: { id: string; time: number; type: string; name?: string; decisionId?: string; visitorId: string; value?: number }[] = [];
  const insertEvent = (e: (typeof events)[number]) => events.push(e);
  for (let i = 0; i < N; i += 2) {
    const r = records[i]!;
    const visitorId = `lr-v-${i % 13}`;
    await insertEvent({ id: `lr-imp-${i}`, time: r.time + 500, type: "impression", decisionId: r.decisionId, visitorId });
    if (i % 4 === 0) await insertEvent({ id: `lr-clk-${i}`, time: r.time + 2 * HOUR, type: "click", decisionId: r.decisionId, visitorId });
    if (i % 8 === 0) {
      // Conversions days later (other day partitions), valued; two for some decisions.
      await insertEvent({ id: `lr-cv-${i}`, time: r.time + 2 * DAY, type: "conversion", value: 20, decisionId: r.decisionId, visitorId });
      if (i % 16 === 0) await insertEvent({ id: `lr-cv2-${i}`, time: r.time + 3 * DAY, type: "conversion", value: 5, decisionId: r.decisionId, visitorId });
    }
    // Someone else's event naming the decision says nothing about it; so do events without one.
    if (i % 10 === 0) await insertEvent({ id: `lr-x-${i}`, time: r.time + 1000, type: "click", decisionId: r.decisionId, visitorId: "lr-intruder" });
    if (i % 10 === 0) await insertEvent({ id: `lr-c-${i}`, time: r.time + 1000, type: "custom", name: "signup", visitorId });
  }
  const insert = env.DB.prepare("INSERT INTO events (id, time, type, name, decision_id, visitor_key, value) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const rows = await Promise.all(
    events.map(async (e) => insert.bind(e.id, e.time, e.type, e.name ?? null, e.decisionId ?? null, await visitorKey(e.visitorId), e.value ?? null)),
  );
  for (let i = 0; i < rows.length; i += 200) await env.DB.batch(rows.slice(i, i + 200));
}

async function collect(pages: AsyncIterable<LoggedDecision[]>): Promise<LoggedDecision[]> {
  const out: LoggedDecision[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

beforeAll(async () => {
  await resetLake();
  await seed();
  // Small files: several per hour, so an hour is read from more than one file.
  while ((await flushLake(env.DB, env.LAKE, { now: T0 + 10 * DAY, maxRows: 10, maxFiles: 500 })).more);
}, 240_000);

const ALL: LoggedFilter = { from: 0, to: T0 + 30 * DAY, includeHoldout: true };

describe("logged decisions from the lake", () => {
  it.each([
    { name: "everything", f: ALL },
    { name: "no holdouts", f: { ...ALL, includeHoldout: false } },
    { name: "one slot", f: { ...ALL, slot: "sidebar" } },
    { name: "one logged model", f: { ...ALL, modelVersion: "m@2" } },
    { name: "a window inside an hour boundary", f: { from: T0 + DAY + 1234, to: T0 + 2 * DAY - 999, includeHoldout: true } },
    { name: "an empty window", f: { from: T0 - 5 * DAY, to: T0, includeHoldout: true } },
  ])("equal the D1 reader's: $name", async ({ f }) => {
    const d1 = await collect(loggedDecisions(env.DB, f, 50));
    // Small batches and pages: outcomes are looked up per batch, across batch boundaries.
    const lake = await collect(lakeLoggedDecisions(env.LAKE, f, { pageSize: 17, batchRows: 250 }));
    expect(lake).toEqual(d1);
    if (f === ALL) {
      expect(lake).toHaveLength(N);
      expect(lake.filter((d) => d.outcomes.conversion).length).toBeGreaterThan(0);
      expect(lake.some((d) => d.outcomes.value === 25)).toBe(true);
    }
  });

  it("evaluation's loader reads the same decisions, including ones logged after the last flush", async () => {
    const late = await auditRecord({ decisionId: "lr-late", time: T0 + SPAN + HOUR, visitorId: "lr-v-1" });
    await writeAudit([late]);
    const f = { ...ALL, includeHoldout: false };
    const fromLake = await collect(loadLoggedDecisions(env, f, 100, T0 + 11 * DAY));
    expect(fromLake).toEqual(await collect(loggedDecisions(env.DB, f, 100)));
    expect(fromLake.at(-1)?.decisionId).toBe("lr-late");
  });

  it("lists only the partitions of the window's days", async () => {
    const from = T0 + DAY;
    const files = await listLakeFiles(env.LAKE, "decisions", from, from + 2 * HOUR);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file.hour >= from - HOUR && file.hour < from + 2 * HOUR).toBe(true);
    const all = await listLakeFiles(env.LAKE, "decisions", 0, Number.MAX_SAFE_INTEGER);
    expect(all.length).toBeGreaterThan(files.length);
    // Listing starts at the window's day: a bucket that records its calls sees no earlier key.
    const seen: string[] = [];
    const spy = { list: async (o: R2ListOptions) => { const r = await env.LAKE.list(o); seen.push(...r.objects.map((x) => x.key)); return r; } };
    await listLakeFiles(spy as unknown as R2Bucket, "decisions", from, from + 2 * HOUR);
    const day = new Date(from).toISOString().slice(0, 10);
    expect(seen.every((k) => k >= `lake/decisions/dt=${day}`)).toBe(true);
  });
});
