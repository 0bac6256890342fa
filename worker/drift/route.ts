/**
 * `GET /admin/drift?model=&from=&to=` (issue 15): the drift series of the window and, per model,
 * the latest values — per feature the PSI and Jensen–Shannon distance with their status
 * (ok / warn / alert / insufficient) and baseline kind (`manifest`: the training histogram in
 * the model's manifest; `first_day`: the model's first day of serving), the score distribution,
 * outcome rates against their trailing 28 days and calibration. Reads drift_series, which
 * computeDrift (./compute.ts) writes from the aggregates on the cron trigger.
 *
 * Query: `model` (a model version), `from` / `to` (UTC dates 'YYYY-MM-DD', ISO date-times or ms;
 * default the last 30 days to today), at most 366 days. Errors: 400 invalid_request for a bad
 * query, 404 not_found for a model with no drift series.
 */
import { Hono } from "hono";
import { z } from "zod";
import { utcDay } from "../aggregates/sql.ts";
import { AppError } from "../errors/app-error.ts";
import { parseTimeText, queryParams } from "../http/query.ts";
import type { AppEnv } from "../services.ts";
import { shiftDay } from "./outcomes.ts";
import { readSeries, type DriftPoint } from "./series.ts";
import { driftThresholds } from "./thresholds.ts";

const MAX_WINDOW_DAYS = 366;

/** A day: 'YYYY-MM-DD', an ISO date-time or ms since the epoch → 'YYYY-MM-DD' (UTC). */
const dayParam = z.string().max(40).transform((s, ctx) => {
  // parseTimeText reads a bare 'YYYY-MM-DD' as UTC midnight and refuses times before 1970.
  const ms = parseTimeText(s);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: "expected a date 'YYYY-MM-DD', an ISO 8601 date-time or milliseconds since the epoch, 1970 to 9999" });
    return z.NEVER;
  }
  return utcDay(ms);
});

const driftQuery = z
  .object({ model: z.string().min(1).max(256).optional(), from: dayParam.optional(), to: dayParam.optional() })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: "from must not be after to", path: ["from"] });

const pick = (p: DriftPoint) => ({ day: p.day, status: p.status, baseline: p.baseline, n: p.n, value: p.value, figures: p.figures });

/** Per model: the newest point of each kind × subject. */
function latest(points: DriftPoint[]) {
  const models = new Map<string, Map<string, DriftPoint>>();
  for (const p of points) {
    if (!models.has(p.model)) models.set(p.model, new Map());
    const m = models.get(p.model)!;
    const id = `${p.kind}\u0000${p.subject}`;
    if ((m.get(id)?.day ?? "") <= p.day) m.set(id, p);
  }
  return [...models].map(([model, byId]) => {
    const newest = [...byId.values()];
    const of = (kind: DriftPoint["kind"]) => newest.filter((p) => p.kind === kind);
    const features = of("feature").map((p) => ({ feature: p.subject, psi: p.value, js: (p.figures.js as number | null) ?? null, ...pick(p) }));
    const kinds = new Set(features.map((f) => f.baseline));
    return {
      model,
      baseline: kinds.size === 0 ? null : kinds.size === 1 ? [...kinds][0] : "mixed",
      features,
      score: of("score").map((p) => ({ psi: p.value, js: (p.figures.js as number | null) ?? null, ...pick(p) }))[0] ?? null,
      outcomes: of("outcome").map((p) => ({ outcome: p.subject, rate: p.value, ...pick(p) })),
      calibration: of("calibration").map((p) => ({ outcome: p.subject, ece: p.value, ...pick(p) })),
    };
  });
}

/** The drift sub-app (mounted at /admin/drift after the bearer-token check). */
export const driftRoute = new Hono<AppEnv>().get("/", queryParams(driftQuery), async (c) => {
  const q = c.req.valid("query");
  const to = q.to ?? utcDay(c.get("services").now());
  const from = q.from ?? shiftDay(to, -29);
  if (shiftDay(from, MAX_WINDOW_DAYS - 1) < to) throw new AppError("invalid_request", `query.from: the window is at most ${MAX_WINDOW_DAYS} days`);
  const series = await readSeries(c.env.DB, { from, to, model: q.model });
  if (q.model && !series.length) {
    const any = await c.env.DB.prepare("SELECT 1 FROM drift_series WHERE model = ? LIMIT 1").bind(q.model).first();
    if (!any) throw new AppError("not_found", `no drift series for model ${q.model} (drift is computed daily from served decisions)`);
  }
  const t = driftThresholds(c.env);
  return c.json(
    {
      window: { from, to },
      thresholds: t,
      models: latest(series),
      series: series.map((p) => ({ model: p.model, kind: p.kind, subject: p.subject, ...pick(p) })),
    },
    200,
    { "cache-control": "no-store" },
  );
});
