/**
 * The governance run (issue 15), called by the five-minute cron (worker/index.ts): gathers findings
 * from the operational checks (./checks.ts), the kill switch, and extra sources (drift,
 * worker/drift/), reconciles them with the incidents (./store.ts), applies the auto-rollback
 * policy (./protect.ts), queues one alert per change and delivers what is due (worker/alerts/).
 */
import { deliverDue, queueAlerts, retryBaseFromEnv, webhooksFromEnv, type Send } from "../alerts/deliver.ts";
import { driftSource } from "../drift/findings.ts";
import { readKillSwitch } from "../kill-switch/store.ts";
import { operationalFindings } from "./checks.ts";
import { governanceConfig } from "./config.ts";
import type { FindingReport, FindingSource } from "./finding.ts";
import { autoProtect, type AutoRollback } from "./protect.ts";
import { reconcile, type IncidentChange } from "./store.ts";

/** What one run did. */
export interface GovernanceRun {
  kinds: string[];
  findings: number;
  changes: IncidentChange[];
  rollbacks: AutoRollback[];
  alertsQueued: number;
  deliveries: { delivered: number; retrying: number; failed: number };
}

/** The kill switch as a finding: personalisation is off (`ops.kill_switch` [decide], warn). */
const killSwitchSource: FindingSource = async (env) => {
  const s = await readKillSwitch(env.DB);
  return {
    kinds: ["ops.kill_switch"],
    findings: s.on ? [{ kind: "ops.kill_switch", subject: "decide", severity: "warn", figures: { changedBy: s.changedBy, changedAt: s.changedAt, reason: s.reason } }] : [],
  };
};

function rate(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) && n >= 0 && n <= 1 ? n : fallback;
}

/** The sources every run reads besides the extra ones: the operational checks and the kill switch. */
export const OPERATIONAL_SOURCES: FindingSource[] = [
  async (env, now) => {
    const reports = await operationalFindings({ db: env.DB, kv: env.CONFIG, config: governanceConfig(env), holdoutRate: rate(env.HOLDOUT_RATE, 0.05), now });
    return { kinds: reports.flatMap((r) => r.kinds), findings: reports.flatMap((r) => r.findings) };
  },
  killSwitchSource,
];

/** The extra sources of the cron's runs: drift (worker/drift/findings.ts). */
export const EXTRA_SOURCES: FindingSource[] = [driftSource];

/**
 * One run at `now` (ms). `sources` are the extra finding sources (the cron and
 * `POST /admin/incidents/run` pass {@link EXTRA_SOURCES}); a source that throws is logged and skipped, so its incidents stay as they are.
 * `send` delivers alerts (default `fetch`).
 */
export async function runGovernance(env: Env, now: number, sources: FindingSource[] = [], send?: Send): Promise<GovernanceRun> {
  const all = [...OPERATIONAL_SOURCES, ...sources];
  const settled = await Promise.allSettled(all.map((s) => s(env, now)));
  const reports: FindingReport[] = settled.flatMap((r) => {
    if (r.status === "fulfilled") return [r.value];
    console.error("governance: a finding source failed:", r.reason instanceof Error ? r.reason.message : r.reason);
    return [];
  });
  const report = { kinds: [...new Set(reports.flatMap((r) => r.kinds))], findings: reports.flatMap((r) => r.findings) };
  const changes = await reconcile(env.DB, report, now);
  const rollbacks = governanceConfig(env).autoRollback ? await autoProtect(env, changes, now) : [];
  const alertsQueued = await queueAlerts(env.DB, changes, webhooksFromEnv(env), now);
  const deliveries = await deliverDue(env.DB, now, send, 50, retryBaseFromEnv(env));
  return { kinds: report.kinds, findings: report.findings.length, changes, rollbacks, alertsQueued, deliveries };
}
