/**
 * Open Bandit Dataset (ZOZOTOWN, st-tech/zr-obp) → logged decisions in the export line format,
 * so the real logs go through the same evaluation (and training) code as the Worker's own.
 * Pure: takes the CSV texts, returns decisions.
 *
 * Mapping: one impression row is one decision; the slot is its position (`position-1..3`); the
 * candidates are every item of the campaign (`item-<id>`), each with two features —
 * `item_feature_0` (the item's numeric feature) and `user_item_affinity` (the row's
 * `user-item_affinity_<id>`); the chosen block is `item-<item_id>` with the logged
 * `propensity_score`; the click is the outcome. The hashed categorical features are not
 * numeric and are left out.
 */
import type { LoggedDecision } from "../export/line.ts";
import { murmur3 } from "../holdout/hash.ts";

/** Where a file comes from: `random` or `bts`, `men` or `women`. */
export interface ObdSource {
  policy: string;
  campaign: string;
}

/** The feature names OBD decisions carry. */
export const OBD_FEATURES = ["item_feature_0", "user_item_affinity"] as const;

function rows(csv: string): { header: string[]; lines: string[][] } {
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  // The fields never contain commas or quotes (hex hashes and numbers).
  const header = lines[0]!.split(",");
  return { header, lines: lines.slice(1).map((l) => l.split(",")) };
}

function column(header: string[], name: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`OBD file has no column "${name}"`);
  return i;
}

function num(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(n)) throw new Error(`OBD: ${what} is not a number: ${text}`);
  return n;
}

/** `2019-11-24 00:01:03.979311+00:00` → ms (microseconds truncated). */
export function obdTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?([+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new Error(`OBD: unreadable timestamp ${text}`);
  return Date.parse(`${m[1]}T${m[2]}.${(m[3] ?? "0").padEnd(3, "0").slice(0, 3)}${m[4]}`);
}

/** Converts one policy × campaign pair of files (`<campaign>.csv`, `item_context.csv`). */
export function obdToLoggedDecisions(logCsv: string, itemContextCsv: string, source: ObdSource): LoggedDecision[] {
  const items = rows(itemContextCsv);
  const itemId = column(items.header, "item_id");
  const itemFeature = column(items.header, "item_feature_0");
  const catalog = items.lines
    .map((l) => ({ id: num(l[itemId], "item_id"), feature: num(l[itemFeature], "item_feature_0") }))
    .sort((a, b) => a.id - b.id);

  const log = rows(logCsv);
  const col = {
    time: column(log.header, "timestamp"),
    item: column(log.header, "item_id"),
    position: column(log.header, "position"),
    click: column(log.header, "click"),
    propensity: column(log.header, "propensity_score"),
    users: [0, 1, 2, 3].map((k) => column(log.header, `user_feature_${k}`)),
  };
  const affinity = catalog.map((it) => column(log.header, `user-item_affinity_${it.id}`));

  return log.lines.map((l, row) => {
    const click = num(l[col.click], "click");
    return {
      decisionId: `obd-${source.policy}-${source.campaign}-${row}`,
      time: obdTime(l[col.time]!),
      // No visitor id in OBD: the hashed user features stand in for one.
      visitorKey: `obd-${murmur3(col.users.map((c) => l[c]).join("|")).toString(16).padStart(8, "0")}`,
      slot: `position-${num(l[col.position], "position")}`,
      modelVersion: `obd-${source.policy}`,
      featureNames: [...OBD_FEATURES],
      candidates: catalog.map((it, k) => ({ blockId: `item-${it.id}`, features: [it.feature, num(l[affinity[k]!], "affinity")], score: null })),
      chosenBlockId: `item-${num(l[col.item], "item_id")}`,
      propensity: num(l[col.propensity], "propensity_score"),
      holdout: false,
      outcomes: { impression: 1, click: click ? 1 : 0, conversion: 0, value: 0 },
    };
  });
}
