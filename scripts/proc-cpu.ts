/**
 * CPU time of a `wrangler dev` server's processes, from Linux `/proc` (clock ticks of 10 ms).
 * `wrangler dev` runs a Node process (wrangler itself: logs, the inspector relay), a front workerd
 * (the dev proxy that listens on the server's port and relays every response) and the Worker's
 * own workerd (the Worker, its Durable Objects, D1, R2 and queues); `npm run profile` reports
 * them apart so local plumbing is not mistaken for the Worker's own work.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** One process of the group: its pid, role and user + system CPU so far, ms. */
export interface ProcessCpu {
  pid: number;
  /** `wrangler (node)`, `workerd, front (dev proxy)`, `workerd, Worker` (`workerd` without a port), `other`. */
  role: string;
  ms: number;
}

/** User + system CPU time of every process in process group `pgid`, ms. */
export function groupCpuMs(pgid: number): number {
  return groupProcesses(pgid).reduce((sum, p) => sum + p.ms, 0);
}

/** Each process of group `pgid` with its role; `port` is the server's port (finds the front workerd). */
export function groupProcesses(pgid: number, port?: number): ProcessCpu[] {
  const listening = port === undefined ? undefined : listeningInodes(port);
  const out: ProcessCpu[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = statFields(stat);
      if (Number(fields[2]) !== pgid) continue;
      const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.push({ pid: Number(pid), role: roleOf(pid, command, listening), ms: (Number(fields[11]) + Number(fields[12])) * 10 });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** The fields of `/proc/<pid>/stat` after the parenthesised command: state ppid pgrp … utime(11) stime(12). */
function statFields(stat: string): string[] {
  return stat.replace(/^.*\) /, "").split(" ");
}

/** The process group of `pid` (a number, or "self"). */
export function processGroup(pid: number | "self"): number {
  return Number(statFields(readFileSync(`/proc/${pid}/stat`, "utf8"))[2]);
}

/** The process group of whichever process listens on `port`, if one does. */
export function groupListeningOn(port: number): number | undefined {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (listensOn(Number(pid), port)) return processGroup(Number(pid));
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return undefined;
}

function roleOf(pid: string, command: string, listening: Set<string> | undefined): string {
  // `npx wrangler dev` also runs npx, a shell and esbuild (wrangler's bundler): "other".
  // wrangler's own command line, or its API run by scripts/start-worker.ts (not tsx's launcher of it).
  const cmdline = command === "node" ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
  if (cmdline.includes("wrangler-dist") || (cmdline.includes("start-worker.ts") && !cmdline.includes("/.bin/tsx"))) return "wrangler (node)";
  if (command !== "workerd") return "other";
  if (!listening) return "workerd";
  return ownsSocket(pid, listening) ? "workerd, front (dev proxy)" : "workerd, Worker";
}

/** True when process `pid` holds a socket listening on `port`. */
export function listensOn(pid: number, port: number): boolean {
  return ownsSocket(String(pid), listeningInodes(port));
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth column.
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === "0A") inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function ownsSocket(pid: string, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? "");
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}
