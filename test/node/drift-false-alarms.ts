/**
 * False alarms of the drift rules with no shift: simulated serving days (seeded), every day's
 * feature and score PSI against the first day (the weakest baseline: itself a sample) and the
 * click rate against its trailing 28 days, judged by the real rules (worker/drift/thresholds.ts).
 * A run counts as a false warn/alert when any check on any day after the first says so.
 *
 * `npx tsx test/node/drift-false-alarms.ts [seeds] [decisionsPerDay]` prints the rates that
 * README "Drift monitoring" reports; test/node/drift-metrics.test.ts asserts them.
 */
import { mulberry32 } from "../../models/prng.ts";
import { binCount, binOfValue } from "../../worker/drift/baseline.ts";
import { binomialTest, psi } from "../../worker/drift/metrics.ts";
import { DEFAULT_DRIFT_THRESHOLDS, outcomeStatus, psiStatus, type DriftStatus } from "../../worker/drift/thresholds.ts";

const CANDIDATES = 5;
const CLICK_RATE = 0.05;
const DEFAULT_BINS = binCount({ kind: "default" });

function poisson(u: () => number, mean: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  const x = u();
  while (x > cdf) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

/** One day's histograms: 4 features and the score on the default grid; clicks of `decisions` impressions. */
function day(u: () => number, decisions: number) {
  const features = Array.from({ length: 4 }, () => new Array<number>(DEFAULT_BINS).fill(0));
  const scores = new Array<number>(DEFAULT_BINS).fill(0);
  let clicks = 0;
  for (let i = 0; i < decisions; i++) {
    // Visitor-level features are the same for every candidate (as in the feature catalog).
    const firstVisit = u() < 0.3 ? 1 : 0;
    const views = Math.log1p(poisson(u, 2));
    const scroll = u();
    for (let c = 0; c < CANDIDATES; c++) {
      const share = u();
      const values = [firstVisit, views, scroll, share];
      values.forEach((v, j) => features[j]![binOfValue({ kind: "default" }, v)]!++);
      const score = 1 / (1 + Math.exp(-(-3 + 0.5 * views + share - firstVisit)));
      scores[binOfValue({ kind: "default" }, score)]!++;
    }
    if (u() < CLICK_RATE) clicks++;
  }
  return { features, scores, clicks };
}

export interface FalseAlarmReport {
  seeds: number;
  days: number;
  decisionsPerDay: number;
  /** Runs with at least one warn (or alert) on any check and day; their share. */
  warnRuns: number;
  warnRate: number;
  /** Runs with at least one alert. */
  alertRuns: number;
  alertRate: number;
  /** Checks judged (feature/score PSI and click rate per day) and those that warned. */
  checks: number;
  warnChecks: number;
  /** Warned (or alerted) checks per kind, and alerted ones. */
  warnByKind: Record<string, number>;
  alertByKind: Record<string, number>;
}

/** Simulates `seeds` runs of `days` days with no shift (see the module comment). */
export function falseAlarms({ seeds = 200, days = 30, decisionsPerDay = 1000 } = {}): FalseAlarmReport {
  const t = DEFAULT_DRIFT_THRESHOLDS;
  let warnRuns = 0;
  let alertRuns = 0;
  let checks = 0;
  let warnChecks = 0;
  const warnByKind: Record<string, number> = { feature: 0, score: 0, outcome: 0 };
  const alertByKind: Record<string, number> = { feature: 0, score: 0, outcome: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    const u = mulberry32(seed * 7919);
    const series = Array.from({ length: days }, () => day(u, decisionsPerDay));
    const first = series[0]!;
    let warned = false;
    let alerted = false;
    const judge = (s: DriftStatus, kind: "feature" | "score" | "outcome") => {
      if (s === "insufficient") return;
      checks++;
      if (s === "warn" || s === "alert") (warnChecks++, warnByKind[kind]!++, (warned = true));
      if (s === "alert") (alertByKind[kind]!++, (alerted = true));
    };
    series.forEach((d, k) => {
      if (k === 0) return;
      const n = decisionsPerDay * CANDIDATES;
      d.features.forEach((h, j) => judge(psiStatus(psi(first.features[j]!, h), n, t), "feature"));
      judge(psiStatus(psi(first.scores, d.scores), n, t), "score");
      const trailing = series.slice(Math.max(0, k - t.trailingDays), k);
      if (trailing.length >= t.minTrailingDays) {
        const p0 = trailing.reduce((a, x) => a + x.clicks, 0) / (trailing.length * decisionsPerDay);
        const p = binomialTest(d.clicks, decisionsPerDay, p0);
        judge(outcomeStatus(p, d.clicks / decisionsPerDay / p0 - 1, t), "outcome");
      }
    });
    if (warned) warnRuns++;
    if (alerted) alertRuns++;
  }
  return { seeds, days, decisionsPerDay, warnRuns, warnRate: warnRuns / seeds, alertRuns, alertRate: alertRuns / seeds, checks, warnChecks, warnByKind, alertByKind };
}

if (process.argv[1]?.endsWith("drift-false-alarms.ts")) {
  const [seeds, perDay] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(falseAlarms({ seeds: seeds || 1000, decisionsPerDay: perDay || 1000 }), null, 1));
}
