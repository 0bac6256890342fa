import { describe, expect, it } from "vitest";
import { sharedRead } from "../../worker/isolate/shared-read.ts";

describe("a read shared by an isolate's requests", () => {
  it("is started once for the requests that ask while it runs, and again after it settled", async () => {
    const read = sharedRead<number>(1_000);
    let starts = 0;
    const start = () => new Promise<number>((resolve) => setTimeout(() => resolve(++starts), 20));
    expect(await Promise.all([read(start), read(start), read(start)])).toEqual([1, 1, 1]);
    expect(await read(start)).toBe(2);
  });

  it("hands a read it starts to the starting request's keepAlive, once", async () => {
    const read = sharedRead<number>(1_000);
    const kept: Promise<unknown>[] = [];
    const keepAlive = (work: Promise<unknown>) => kept.push(work);
    const start = () => new Promise<number>((resolve) => setTimeout(() => resolve(1), 10));
    await Promise.all([read(start, keepAlive), read(start, keepAlive)]);
    expect(kept).toHaveLength(1);
  });

  it("is dropped by a waiter once it is older than staleMs (a read whose request was cancelled never settles)", async () => {
    const read = sharedRead<string>(50);
    // The first read hangs for ever (its request was cancelled); any later one answers.
    let starts = 0;
    const start = () => (++starts === 1 ? new Promise<string>(() => {}) : Promise.resolve("read again"));
    const first = read(start);
    const waiter = read(start);
    // Both give up on the hung read once it is 50 ms old and read again themselves. (The bound
    // below only ends the test if they never do; it is not a speed check.)
    const settled = (p: Promise<string>) => Promise.race([p, new Promise((r) => setTimeout(() => r("still waiting"), 10_000))]);
    expect(await settled(waiter)).toBe("read again");
    expect(await settled(first)).toBe("read again");
    expect(starts).toBeGreaterThanOrEqual(2);
  });

  it("passes a failure to every request that joined it, and the next one starts afresh", async () => {
    const read = sharedRead<number>(1_000);
    const failing = () => new Promise<number>((_, reject) => setTimeout(() => reject(new Error("D1 down")), 10));
    const results = await Promise.allSettled([read(failing), read(failing)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await read(() => Promise.resolve(7))).toBe(7);
  });
});
