import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./helpers.ts";

const BATCHES = 500;
const PER_BATCH = 100;
const CONCURRENCY = 8;

function batch(b: number): string {
  const events = Array.from({ length: PER_BATCH }, (_, i) => {
    const n = b * PER_BATCH + i;
    const visitorId = `load-visitor-${n % 997}`;
    const decisionId = `load-${b}-${i}`;
    switch (n % 4) {
      case 0:
        return { type: "impression", decisionId, visitorId };
      case 1:
        return { type: "click", decisionId, visitorId };
      case 2:
        return { type: "conversion", decisionId, visitorId, value: n % 50, currency: "EUR" };
      default:
        return { type: "custom", name: "scroll_75", decisionId, visitorId };
    }
  });
  return JSON.stringify({ consent: { analytics: true }, events });
}

describe("events under load", () => {
  it(`stores all ${BATCHES * PER_BATCH} events of ${BATCHES} batches of ${PER_BATCH}, none lost`, { timeout: 600_000 }, async () => {
    const started = performance.now();
    let accepted = 0;
    const statuses = new Map<number, number>();
    let next = 0;
    // A few requests in flight at once, through the Worker's own fetch in workerd.
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < BATCHES) {
          const b = next++;
          const res = await call("/v1/events", { method: "POST", headers: { "content-type": "text/plain" }, body: batch(b) });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          // Read first, then add: `accepted += await …` would add to a stale value.
          const answer = await res.json<{ accepted: number }>();
          accepted += answer.accepted;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    // Stored by the log consumer after the answers: wait for it (generous deadline, busy machine).
    const count = () => env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE decision_id LIKE 'load-%'").first<number>("n");
    let counted = await count();
    for (const until = Date.now() + 240_000; counted! < BATCHES * PER_BATCH && Date.now() < until; counted = await count()) {
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`${BATCHES * PER_BATCH} events answered in ${seconds.toFixed(1)} s (${((BATCHES * PER_BATCH) / seconds).toFixed(0)} events/s, ${(BATCHES / seconds).toFixed(0)} batches/s); stored ${counted}`);
    expect([...statuses]).toEqual([[202, BATCHES]]);
    expect(accepted).toBe(BATCHES * PER_BATCH);
    expect(counted).toBe(BATCHES * PER_BATCH);

    // Sending a batch again stores nothing new: the consumer recognises every id.
    const again = await call("/v1/events", { method: "POST", headers: { "content-type": "application/json" }, body: batch(123) });
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(BATCHES * PER_BATCH);
  });
});
