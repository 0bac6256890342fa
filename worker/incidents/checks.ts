/**
 * The operational checks (issue 15): each reads aggregates or small stores, never raw decision
 * rows, and reports the kind it checked and what it found (./finding.ts). Thresholds: ./config.ts.
 *
 * Kinds (subject in brackets):
 *  - `ops.fallback_rate` [all]: share of personalised decisions (ranked + fallback) answered by
 *    the rule-based fallback, from agg_decision_health;
 *  - `ops.latency_budget` [all]: share that fell back because ranking or model loading missed its
 *    budget (fallback causes latency_budget, cold_start_budget);
 *  - `ops.model_load` [all]: decisions whose model could not be loaded (cause model_load);
 *  - `ops.dead_letters` [nextbest-log]: dead letters stored in the window (dead_letters);
 *  - `ops.exclusion_rate` [reason code]: one rule's share of candidate blocks excluded, against
 *    its share over the baseline days (agg_eligibility): a rule that suddenly excludes everything;
 *  - `ops.caps_hit_rate` [caps]: share of candidate blocks removed by frequency caps;
 *  - `ops.srm` [experiment]: sample-ratio mismatch of a running experiment (agg_exposures).
 */
import { DAY_MS, utcDay } from "../aggregates/sql.ts";
import { CAMPAIGN_HOLDOUTS_KEY, campaignHoldoutConfigSchema, controlShare } from "../holdout/campaign.ts";
import { srmCheck } from "../stats/srm.ts";
import type { GovernanceConfig } from "./config.ts";
import type { Finding, FindingReport } from "./finding.ts";

/** What the checks read besides D1. */
export interface CheckContext {
  db: D1Database;
  kv: KVNamespace;
  config: GovernanceConfig;
  /** The universal control group's share (HOLDOUT_RATE). */
  holdoutRate: number;
  now: number;
}

/** The UTC days (YYYY-MM-DD) the window overlaps, and the baseline days before them. */
export function windowDays(now: number, windowMs: number, baselineDays: number): { from: string; to: string; baselineFrom: string } {
  const first = now - windowMs;
  return { from: utcDay(first), to: utcDay(now), baselineFrom: utcDay(first - baselineDays * DAY_MS) };
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function level(value: number, t: { warn: number; alert: number }): Finding["severity"] | null {
  return value >= t.alert ? "alert" : value >= t.warn ? "warn" : null;
}

/** Fallback rate, latency-budget misses and model load failures, from agg_decision_health. */
async function decisionHealth(c: CheckContext): Promise<FindingReport> {
  const w = windowDays(c.now, c.config.windowMs, 0);
  const { results } = await c.db
    .prepare("SELECT reason, cause, SUM(decisions) AS n FROM agg_decision_health WHERE day >= ? AND day <= ? AND reason IN ('ranked', 'fallback') GROUP BY 1, 2")
    .bind(w.from, w.to)
    .all<{ reason: string; cause: string; n: number }>();
  const total = results.reduce((a, r) => a + r.n, 0);
  const count = (pred: (r: { reason: string; cause: string }) => boolean) => results.filter(pred).reduce((a, r) => a + r.n, 0);
  const fallback = count((r) => r.reason === "fallback");
  const budget = count((r) => r.cause === "latency_budget" || r.cause === "cold_start_budget");
  const load = count((r) => r.cause === "model_load");
  const findings: Finding[] = [];
  const base = { from: w.from, to: w.to, decisions: total };
  if (total >= c.config.minDecisions) {
    const rate = fallback / total;
    const sev = level(rate, c.config.fallback);
    if (sev) findings.push({ kind: "ops.fallback_rate", subject: "all", severity: sev, figures: { ...base, fallback, rate: round(rate), warn: c.config.fallback.warn, alert: c.config.fallback.alert } });
    const missRate = budget / total;
    const miss = level(missRate, c.config.budget);
    if (miss) findings.push({ kind: "ops.latency_budget", subject: "all", severity: miss, figures: { ...base, missed: budget, rate: round(missRate), warn: c.config.budget.warn, alert: c.config.budget.alert } });
  }
  const loads = level(load, c.config.modelLoad);
  if (loads) findings.push({ kind: "ops.model_load", subject: "all", severity: loads, figures: { ...base, failures: load, warn: c.config.modelLoad.warn, alert: c.config.modelLoad.alert } });
  return { kinds: ["ops.fallback_rate", "ops.latency_budget", "ops.model_load"], findings };
}

/** Dead letters stored within the window. */
async function deadLetters(c: CheckContext): Promise<FindingReport> {
  const since = c.now - c.config.windowMs;
  const row = await c.db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(records), 0) AS records FROM dead_letters WHERE time >= ?").bind(since).first<{ n: number; records: number }>();
  const sev = level(row!.n, c.config.deadLetters);
  const findings: Finding[] = sev ? [{ kind: "ops.dead_letters", subject: "nextbest-log", severity: sev, figures: { since, letters: row!.n, records: row!.records, warn: c.config.deadLetters.warn, alert: c.config.deadLetters.alert } }] : [];
  return { kinds: ["ops.dead_letters"], findings };
}

/** Exclusions that say nothing about a rule's health: the page's own arithmetic and holdouts. */
const STRUCTURAL = new Set(["used_on_page", "campaign_holdout"]);
const CAP = (reason: string) => reason.startsWith("cap_");

/**
 * Per-rule exclusion share (excluded by the rule / candidate blocks considered) in the window vs
 * the baseline days, and the caps' share, from agg_eligibility. A block is counted once per
 * decision: in the pool (reason '') or with the one reason that excluded it.
 */
async function exclusions(c: CheckContext): Promise<FindingReport> {
  const w = windowDays(c.now, c.config.windowMs, c.config.baselineDays);
  const { results } = await c.db
    .prepare("SELECT day >= ? AS recent, reason, SUM(n) AS n FROM agg_eligibility WHERE day >= ? AND day <= ? GROUP BY 1, 2")
    .bind(w.from, w.baselineFrom, w.to)
    .all<{ recent: number; reason: string; n: number }>();
  const total = (recent: number) => results.filter((r) => r.recent === recent).reduce((a, r) => a + r.n, 0);
  const of = (recent: number, reason: string) => results.find((r) => r.recent === recent && r.reason === reason)?.n ?? 0;
  const now = total(1);
  const before = total(0);
  const findings: Finding[] = [];
  if (now >= c.config.minDecisions) {
    const reasons = new Set(results.map((r) => r.reason).filter((r) => r !== "" && !STRUCTURAL.has(r) && !CAP(r)));
    for (const reason of [...reasons].sort()) {
      const rate = of(1, reason) / now;
      const baseline = before >= c.config.minDecisions ? of(0, reason) / before : null;
      const jump = rate - (baseline ?? 0);
      const all = rate >= c.config.exclusionAll && (baseline === null || baseline < c.config.exclusionAll / 2);
      const sev = all ? "alert" : baseline === null ? null : level(jump, c.config.exclusionJump);
      if (sev) findings.push({ kind: "ops.exclusion_rate", subject: reason, severity: sev, figures: { from: w.from, to: w.to, considered: now, excluded: of(1, reason), rate: round(rate), baseline: baseline === null ? null : round(baseline), baselineFrom: w.baselineFrom, jumpWarn: c.config.exclusionJump.warn, jumpAlert: c.config.exclusionJump.alert } });
    }
    const capped = results.filter((r) => r.recent === 1 && CAP(r.reason)).reduce((a, r) => a + r.n, 0);
    const capRate = capped / now;
    const sev = level(capRate, c.config.caps);
    if (sev) findings.push({ kind: "ops.caps_hit_rate", subject: "caps", severity: sev, figures: { from: w.from, to: w.to, considered: now, capped, rate: round(capRate), warn: c.config.caps.warn, alert: c.config.caps.alert } });
  }
  return { kinds: ["ops.exclusion_rate", "ops.caps_hit_rate"], findings };
}

/**
 * Sample-ratio mismatch per running experiment (the universal control group, each campaign with
 * exposures in the window): visitors in control vs treatment against the configured control share,
 * Pearson's chi-square goodness-of-fit test (worker/stats/srm.ts; Fabijan et al., "Diagnosing
 * Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019, recommend exactly this test
 * with a strict threshold such as p < 0.0005–0.001). A visitor is in control when any of their
 * decisions was (assignment is per visitor and deterministic).
 */
async function sampleRatio(c: CheckContext): Promise<FindingReport> {
  const w = windowDays(c.now, c.config.windowMs, 0);
  const { results } = await c.db
    .prepare(
      `SELECT experiment, SUM(ctrl) AS control, COUNT(*) - SUM(ctrl) AS treatment FROM (
         SELECT experiment, visitor_key, MAX(control > 0) AS ctrl FROM agg_exposures WHERE day >= ? AND day <= ? GROUP BY 1, 2
       ) GROUP BY 1`,
    )
    .bind(w.from, w.to)
    .all<{ experiment: string; control: number; treatment: number }>();
  const stored = await c.kv.get(CAMPAIGN_HOLDOUTS_KEY, "json").catch(() => null);
  const campaigns = campaignHoldoutConfigSchema.safeParse(stored ?? { campaigns: {} });
  const findings: Finding[] = [];
  for (const r of results) {
    if (r.control + r.treatment < c.config.minDecisions) continue;
    const campaign = r.experiment.startsWith("campaign:") ? r.experiment.slice("campaign:".length) : null;
    const rate = campaign && campaigns.success ? (Object.hasOwn(campaigns.data.campaigns, campaign) ? campaigns.data.campaigns[campaign]!.rate : 0) : 0;
    const expected = campaign ? controlShare(c.holdoutRate, rate) : c.holdoutRate;
    const srm = srmCheck(r.treatment, r.control, expected, c.config.srmAlpha);
    if (srm.mismatch)
      findings.push({ kind: "ops.srm", subject: r.experiment, severity: "alert", figures: { from: w.from, to: w.to, treatment: r.treatment, control: r.control, expectedControlShare: round(expected), observedControlShare: srm.observedControlShare === null ? null : round(srm.observedControlShare), chiSquare: round(srm.chiSquare), pValue: srm.pValue, alpha: srm.alpha } });
  }
  return { kinds: ["ops.srm"], findings };
}

/** Every operational check, in order. A check that fails is left out (and logged), so it resolves nothing. */
export async function operationalFindings(c: CheckContext): Promise<FindingReport[]> {
  const checks = [decisionHealth, deadLetters, exclusions, sampleRatio];
  const out = await Promise.allSettled(checks.map((check) => check(c)));
  return out.flatMap((r, i) => {
    if (r.status === "fulfilled") return [r.value];
    console.error(`governance: check ${checks[i]!.name} failed:`, r.reason instanceof Error ? r.reason.message : r.reason);
    return [];
  });
}
