/**
 * The moments configuration (issue 18): the moments that matter, each with a trigger, an exit
 * rule, a re-entry limit, one KPI with its attribution window and the actions eligible in it.
 * Versioned like the guardrails (./store.ts, `/admin/moments`).
 *
 * Trigger grammar (docs: README "Moments"):
 *  - `trigger.event`: entered when an event of this type arrives (`conversion`, `click`,
 *    `impression`) or a custom event of this name;
 *  - `trigger.condition`: a JSON Logic condition (worker/guardrails/condition.ts: the same operators
 *    and bounds) over `profile.*`, `account.*`, `signals.*` (decide time only), `visit.count`,
 *    `now` (ms) and `events.<name>.count | maxPerKey | ago` for each window declared in
 *    `trigger.windows` (or `exit.windows`);
 *  - a window `{ event, within (s), by?: "category" | "slot" | "blockId" }` counts the visitor's
 *    recent events of that type/name in the last `within` seconds: `count` all of them,
 *    `maxPerKey` the most in one category/slot/block (= count without `by`), `ago` seconds since
 *    the latest one (null without one).
 * E.g. intent spike = `{ windows: { views: { event: "product_view", within: 1800, by: "category" } },
 * condition: { ">=": [{ "var": "events.views.maxPerKey" }, 3] } }`.
 */
import { z } from "zod";
import { conditionSchema } from "../guardrails/condition.ts";
import { varsOf } from "./condition-reads.ts";

/** At most this many moments (each is evaluated on every decide and event of a member). */
export const MAX_MOMENTS = 20;
/** Windows per trigger/exit, and the longest window (s): recent events older than it are dropped. */
export const MAX_WINDOWS = 5;
export const MAX_WINDOW_SECONDS = 30 * 86_400;
/** Longest KPI attribution window (s). */
export const MAX_KPI_WINDOW_SECONDS = 90 * 86_400;

/** An event type or a custom event's name (the same shape as events' `name`). */
export const eventNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "an event type or custom event name (letters, digits, _ . : -, max 64)");
const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, - and _ (max 64)");

export const windowSchema = z
  .object({
    event: eventNameSchema,
    /** Seconds back from now. */
    within: z.number().int().min(1).max(MAX_WINDOW_SECONDS),
    /** Count per value of this event field; `maxPerKey` is the highest count. */
    by: z.enum(["category", "slot", "blockId"]).optional(),
  })
  .strict();
export type EventWindow = z.infer<typeof windowSchema>;

const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);

// Checked on the object as sent: zod's record drops a `__proto__` key before a refine would see
// it, so `{"__proto__": {...}}` was saved as no window at all instead of being refused.
const windowsSchema = z.preprocess(
  (w, ctx) => {
    if (w !== null && typeof w === "object" && Object.keys(w).some((k) => RESERVED_NAMES.has(k))) ctx.addIssue({ code: "custom", message: "reserved window name", input: w });
    return w;
  },
  z.record(id, windowSchema).refine((w) => Object.keys(w).length <= MAX_WINDOWS, `at most ${MAX_WINDOWS} windows`),
);

/** When a moment starts (or, for `exit`, ends): an event, a condition, or both (either fires). */
const ruleSchema = z
  .object({
    event: eventNameSchema.optional(),
    condition: conditionSchema.optional(),
    windows: windowsSchema.optional(),
  })
  .strict();

export const momentSchema = z
  .object({
    id,
    description: z.string().max(500).optional(),
    trigger: ruleSchema.refine((t) => t.event !== undefined || t.condition !== undefined, "a trigger needs an event or a condition"),
    exit: ruleSchema
      .extend({
        /** Members leave after this many seconds in the moment whatever happens. */
        afterSeconds: z.number().int().min(1).max(MAX_KPI_WINDOW_SECONDS).optional(),
      })
      .strict()
      .refine((e) => e.event !== undefined || e.condition !== undefined || e.afterSeconds !== undefined, "an exit needs an event, a condition or afterSeconds"),
    reentry: z
      .object({
        /** Entries per visitor/customer, ever (1 = once). */
        maxEntries: z.number().int().min(1).max(1000).default(1),
        /** Seconds after an exit before the moment may be entered again. */
        cooldownSeconds: z.number().int().min(0).max(MAX_KPI_WINDOW_SECONDS).default(0),
      })
      .strict()
      .default({ maxEntries: 1, cooldownSeconds: 0 }),
    /** The one KPI the moment is measured by: an event type or custom name, within a window of the entry decision. */
    kpi: z.object({ event: eventNameSchema, windowSeconds: z.number().int().min(1).max(MAX_KPI_WINDOW_SECONDS) }).strict(),
    /** Actions eligible in the moment (ids of the next-action catalog; only their shape is checked here). */
    actions: z.array(id).max(50).default([]),
    /**
     * What entering the moment starts (worker/journeys/): `nextAction: true` decides and schedules
     * the customer's next outbound action in this moment (as `POST /v1/next-action` with `moment`),
     * for identified customers only. Absent: nothing (the backend may still call next-action).
     */
    onEntry: z.object({ nextAction: z.boolean().default(false) }).strict().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const windows = { ...(m.trigger.windows ?? {}), ...(m.exit.windows ?? {}) };
    for (const [part, rule] of [["trigger", m.trigger], ["exit", m.exit]] as const) {
      for (const name of readWindowNames(rule.condition)) {
        if (!Object.hasOwn(windows, name)) ctx.addIssue({ code: "custom", path: [part, "condition"], message: `reads events.${name}, which no window declares` });
      }
    }
  });

export type Moment = z.output<typeof momentSchema>;

export const momentsConfigSchema = z
  .object({ moments: z.array(momentSchema).max(MAX_MOMENTS) })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.moments.forEach((m, i) => {
      if (seen.has(m.id)) ctx.addIssue({ code: "custom", path: ["moments", i, "id"], message: `duplicate moment id "${m.id}"` });
      seen.add(m.id);
    });
  });

export type MomentsConfig = z.output<typeof momentsConfigSchema>;
export const EMPTY_MOMENTS: MomentsConfig = { moments: [] };

/** The `events.<name>` windows a condition reads (`{"var": "events.views.count"}`). */
export function readWindowNames(rule: unknown): string[] {
  const out = new Set<string>();
  for (const name of varsOf(rule)) {
    const m = /^events\.([^.]+)/.exec(name);
    if (m) out.add(m[1]!);
  }
  return [...out];
}
