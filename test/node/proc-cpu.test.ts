// scripts/proc-cpu.ts: the /proc readings `npm run profile` splits a server's CPU by.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupCpuMs, groupProcesses, listensOn } from "../../scripts/proc-cpu.ts";

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** This process's group id (field 5 of /proc/self/stat). */
async function ownGroup(): Promise<number> {
  const { readFileSync } = await import("node:fs");
  return Number(readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ")[2]);
}

describe("proc-cpu", () => {
  it("finds the process that listens on a port, and no other", () => {
    expect(listensOn(process.pid, port)).toBe(true);
    expect(listensOn(process.pid, port === 1 ? 2 : port - 1)).toBe(false);
    expect(listensOn(1, port)).toBe(false);
  });

  it("lists this process in its group with the CPU it used, and sums the group", async () => {
    const pgid = await ownGroup();
    const spin = Date.now() + 300;
    while (Date.now() < spin); // 300 ms of CPU, so the reading is above a clock tick
    const me = groupProcesses(pgid, port).find((p) => p.pid === process.pid);
    expect(me).toMatchObject({ role: "other" }); // a node process that is not wrangler's CLI
    expect(me!.ms).toBeGreaterThanOrEqual(200);
    expect(groupCpuMs(pgid)).toBeGreaterThanOrEqual(me!.ms);
  });
});
