/**
 * Open Bandit Dataset (ZOZOTOWN, st-tech/zr-obp; ../shared/data/obd) → the training export
 * format, so the reference trainer can be shown on real logged bandit feedback.
 *
 * Mapping (ids as in worker/evaluation/obd.ts, so both read the same decisions):
 * - one impression row is one decision: `obd-<policy>-<campaign>-<row>`, slot `position-<1..3>`,
 *   `modelVersion` `obd-<policy>` (the logging policy), the logged `propensity_score`, outcome
 *   the click;
 * - every item of the campaign is a candidate block `item-<id>`;
 * - features: only what nextbest can compute when it serves, under catalog names. OBD's
 *   `user-item_affinity_<id>` (the user's past clicks on that item) is the catalog's
 *   `block_affinity_log` = ln(1 + affinity) (sent by a site as the custom signal
 *   `affinity.<blockId>`). The hashed user and item categoricals and `item_feature_0` have no
 *   counterpart a site could send for its own blocks, and the position is the slot (features
 *   are per visitor and block, not per slot), so they are left out.
 * - no visitor id in OBD: the hashed user features stand in for one.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { murmur3 } from "../worker/holdout/hash.ts";
import { exportLine, type ExportLine } from "./export-format.ts";

/** The feature names of converted decisions (catalog names). */
export const OBD_EXPORT_FEATURES = ["block_affinity_log"];

export interface ObdSource {
  policy: string;
  campaign: string;
}

function table(csv: string): { header: string[]; rows: string[][] } {
  // OBD fields are numbers and hex hashes: no quotes, no embedded commas.
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  return { header: lines[0]!.split(","), rows: lines.slice(1).map((l) => l.split(",")) };
}

function col(header: string[], name: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`OBD file has no column "${name}"`);
  return i;
}

function num(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(n)) throw new Error(`OBD: ${what} is not a number: ${text}`);
  return n;
}

/** `2019-11-24 00:01:03.979311+00:00` → ms since the epoch. */
export function obdTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new Error(`OBD: unreadable timestamp ${text}`);
  return Date.parse(`${m[1]}T${m[2]}.${(m[3] ?? "0").padEnd(3, "0").slice(0, 3)}${m[4]}`);
}

/** Converts one policy × campaign (`<campaign>.csv` and `item_context.csv` texts). */
export function* obdToExport(logCsv: string, itemContextCsv: string, source: ObdSource, limit = Infinity): Generator<ExportLine> {
  const items = table(itemContextCsv);
  const itemIds = items.rows.map((r) => num(r[col(items.header, "item_id")], "item_id")).sort((a, b) => a - b);
  const log = table(logCsv);
  const c = {
    time: col(log.header, "timestamp"),
    item: col(log.header, "item_id"),
    position: col(log.header, "position"),
    click: col(log.header, "click"),
    propensity: col(log.header, "propensity_score"),
    users: [0, 1, 2, 3].map((k) => col(log.header, `user_feature_${k}`)),
  };
  const affinity = itemIds.map((id) => col(log.header, `user-item_affinity_${id}`));
  for (let row = 0; row < Math.min(log.rows.length, limit); row++) {
    const r = log.rows[row]!;
    const click = num(r[c.click], "click") > 0 ? 1 : 0;
    yield {
      decisionId: `obd-${source.policy}-${source.campaign}-${row}`,
      time: obdTime(r[c.time]!),
      visitorKey: `obd-${murmur3(c.users.map((k) => r[k]).join("|")).toString(16).padStart(8, "0")}`,
      slot: `position-${num(r[c.position], "position")}`,
      modelVersion: `obd-${source.policy}`,
      featureNames: OBD_EXPORT_FEATURES,
      candidates: itemIds.map((id, k) => ({ blockId: `item-${id}`, features: [Math.log1p(Math.max(0, num(r[affinity[k]!], "affinity")))], score: null })),
      chosenBlockId: `item-${num(r[c.item], "item_id")}`,
      propensity: num(r[c.propensity], "propensity_score"),
      holdout: false,
      outcomes: { impression: 1, click, conversion: 0, value: 0 },
    };
  }
}

/** Reads `<dir>/<policy>/<campaign>/` and converts it. */
export function* obdFilesToExport(dir: string, source: ObdSource, limit?: number): Generator<ExportLine> {
  const base = join(dir, source.policy, source.campaign);
  yield* obdToExport(readFileSync(join(base, `${source.campaign}.csv`), "utf8"), readFileSync(join(base, "item_context.csv"), "utf8"), source, limit);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      obd: { type: "string", default: "../shared/data/obd" },
      policy: { type: "string", default: "random,bts" },
      campaign: { type: "string", default: "men,women" },
      limit: { type: "string" },
      out: { type: "string" },
    },
  });
  if (!values.out) {
    console.error("usage: npx tsx models/obd-to-export.ts --out obd.jsonl [--obd DIR] [--policy random,bts] [--campaign men,women] [--limit ROWS_PER_FILE]");
    process.exit(1);
  }
  const fd = openSync(values.out, "w");
  let n = 0;
  for (const policy of values.policy.split(",")) {
    for (const campaign of values.campaign.split(",")) {
      for (const line of obdFilesToExport(values.obd, { policy, campaign }, values.limit ? Number(values.limit) : undefined)) {
        writeSync(fd, exportLine(line));
        n++;
      }
    }
  }
  closeSync(fd);
  console.log(`wrote ${n} decisions to ${values.out}`);
}
