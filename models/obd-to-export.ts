/**
 * Open Bandit Dataset (ZOZOTOWN, st-tech/zr-obp; the sample in test/fixtures/obd) → the training export
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
import { obdToLoggedDecisions, OBD_FEATURES, type ObdSource } from "../worker/evaluation/obd.ts";
import { exportLine, type ExportLine } from "./export-format.ts";

export { obdTime, type ObdSource } from "../worker/evaluation/obd.ts";

/** The feature names of converted decisions (catalog names). */
export const OBD_EXPORT_FEATURES = ["block_affinity_log"];

const AFFINITY = OBD_FEATURES.indexOf("user_item_affinity");

/**
 * Converts one policy × campaign (`<campaign>.csv` and `item_context.csv` texts): the evaluation
 * importer's decisions (worker/evaluation/obd.ts), with their raw OBD features replaced by the
 * catalog feature a site can send.
 */
export function* obdToExport(logCsv: string, itemContextCsv: string, source: ObdSource, limit = Infinity): Generator<ExportLine> {
  const decisions = obdToLoggedDecisions(logCsv, itemContextCsv, source);
  for (const d of decisions.slice(0, Math.min(decisions.length, limit))) {
    yield {
      ...d,
      featureNames: OBD_EXPORT_FEATURES,
      candidates: d.candidates.map((c) => ({ blockId: c.blockId, features: [Math.log1p(Math.max(0, c.features[AFFINITY]!))], score: null })),
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
      obd: { type: "string", default: fileURLToPath(new URL("../test/fixtures/obd", import.meta.url)) },
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
