// `node scripts/peer-split.mjs /tmp/peer-run.XXXX/result.json [--warmup 5] [--page a]`
//
// Splits the peer bench's timed requests on one page (`../shared/peer-bench/`, its `result.json`)
// into each system's first request for a visitor and the returning ones, and prints the p50 of the
// total time (last byte) of each part. Why: every run starts each system with fresh local state and
// the bench's 64 visitor ids, so many of nextbest's timed pages are the first call to that
// visitor's Durable Object, which GrowthBook (no visitor state) never makes (README, "Proxy mode").
//
// The bench does not record which visitor each request carried; this replays its counter:
// `bench.mjs` hands out `benchvisitor-(n mod 64)` from one counter shared by every request to
// every system, in this order — one untimed check per page (the origin once, then each other
// system), `--warmup` requests per page and system, then the pages' timed rounds, each round one
// request per system, the order rotating every round. Keep `--warmup` as the run's (default 5).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const VISITORS = 64;
const PAGE_KEYS = ['a', 'b', 'c'];

/**
 * The total times (ms) of `page`'s timed requests per system, split by whether the request was the
 * system's first for its visitor: `Map<system, { first: number[], returning: number[] }>`.
 * `result` is the bench's `result.json` (`systems[].name`, `samples["<system>|<page>"][].total`).
 */
export function splitByVisit(result, { warmup = 5, page = 'a' } = {}) {
  if (!Array.isArray(result?.systems) || result.systems.length < 2 || typeof result.samples !== 'object' || result.samples === null) {
    throw new Error('not a peer bench result.json: it has no systems (at least the origin and one more) or no samples');
  }
  const names = result.systems.map((s) => s.name);
  if (!Array.isArray(result.samples[`${names[0]}|a`])) throw new Error(`not a peer bench result.json: no samples of ${names[0]} on page (a)`);
  const rounds = result.samples[`${names[0]}|a`].length;
  // Every system has as many samples on every page: else this is not the run the replay assumes.
  for (const name of names) for (const key of PAGE_KEYS) {
    const count = result.samples[`${name}|${key}`]?.length;
    if (count !== rounds) throw new Error(`not a peer bench result.json: ${name} has ${count ?? 'no'} samples on page (${key}), ${names[0]} ${rounds} on page (a)`);
  }
  let counter = 0;
  const seen = new Map(names.map((n) => [n, new Set()]));
  /** The next request to `name`: true when it is that system's first request for its visitor. */
  const next = (name) => {
    const visitor = counter++ % VISITORS;
    const first = !seen.get(name).has(visitor);
    seen.get(name).add(visitor);
    return first;
  };
  for (const _ of PAGE_KEYS) for (const name of names) next(name); // the checks: the origin, then the others
  for (const _ of PAGE_KEYS) for (const name of names) for (let i = 0; i < warmup; i++) next(name);
  const split = new Map(names.map((n) => [n, { first: [], returning: [] }]));
  for (const key of PAGE_KEYS) {
    const index = new Map(names.map((n) => [n, 0]));
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        const first = next(name);
        const sample = result.samples[`${name}|${key}`][index.get(name)];
        index.set(name, index.get(name) + 1);
        if (key === page) split.get(name)[first ? 'first' : 'returning'].push(sample.total);
      }
    }
  }
  return split;
}

/** The median as the bench reports it (the lower middle of an even count), or NaN. */
export const p50 = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : NaN);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const fail = (message) => { console.error(message); process.exit(2); };
  const usage = 'usage: node scripts/peer-split.mjs RESULT_JSON [--warmup 5] [--page a]';
  const options = new Map();
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith('--')) files.push(args[i]);
    else if (args[i] === '--warmup' || args[i] === '--page') options.set(args[i].slice(2), args[++i]);
    else fail(`${usage}; not understood: ${args[i]}`);
  }
  const opt = (name, fallback) => (options.has(name) ? options.get(name) : fallback);
  if (files.length !== 1) fail(usage);
  const file = files[0];
  const warmup = Number(opt('warmup', '5'));
  const page = opt('page', 'a');
  if (!Number.isInteger(warmup) || warmup < 0) fail('--warmup must be a whole number');
  if (!PAGE_KEYS.includes(page)) fail(`--page is one of ${PAGE_KEYS.join(', ')}`);
  let result;
  try {
    result = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`${file}: ${err instanceof SyntaxError ? 'not JSON' : err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  let split;
  try {
    split = splitByVisit(result, { warmup, page });
  } catch (err) {
    fail(`${file}: ${err.message}`);
  }
  const rounds = [...split.values()][0];
  console.log(`page (${page}), ${rounds.first.length + rounds.returning.length} timed requests per system: total p50 (ms) of each system's first request for a visitor and of the returning ones`);
  const fmt = (xs) => (xs.length ? p50(xs).toFixed(1) : '-').padStart(6);
  for (const [name, { first, returning }] of split) {
    console.log(`${name.padEnd(18)} first ${String(first.length).padStart(3)} × ${fmt(first)}   returning ${String(returning.length).padStart(3)} × ${fmt(returning)}`);
  }
}
