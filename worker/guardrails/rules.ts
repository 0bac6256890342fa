/**
 * The guardrails that depend only on the request and the block: each a pure function returning
 * pass or a reason code. They run before the model: the model only ranks what passes. Rules that
 * depend on the visitor's history or on the other slots of the page (caps, conversions, promo and
 * campaign limits, one block per page) run at selection (selection.ts).
 */
import type { Block } from "../catalog/schema.ts";
import type { Signals } from "../ranking/signals.ts";
import { MAX_MATCHED_PATH, matchesAnyPath } from "../patterns/url-pattern.ts";
import { runCondition } from "./condition.ts";
import type { GuardrailConfig } from "./config.ts";
import { listNames } from "./suppression.ts";
import { fail, PASS, type Exclusion, type RuleOutcome } from "./reasons.ts";
import { own } from "./own.ts";

/** What the request-level rules see. */
export interface RuleContext {
  now: number;
  visitorId: string;
  /** The visitor's pseudonymous key, when a suppression list holds keys (suppression.ts). */
  visitorKey?: string;
  /** SHA-256 hex of the visitor's lower-cased email, when the site sends it. */
  emailHash?: string;
  consent: Record<string, boolean>;
  signals: Signals;
  url?: string;
  /** ISO country from the request (`request.cf.country`). */
  country?: string;
  config: GuardrailConfig;
  /**
   * Traits of the identified customer (`profile`) and their account (`account`), worker/identity/:
   * conditions read them as `{"var": "profile.plan"}`, `{"var": "account.tier"}`. Empty objects
   * for an anonymous visitor.
   */
  profile?: Record<string, unknown>;
  account?: Record<string, unknown>;
}

type Rule = (ctx: RuleContext, block: Block) => RuleOutcome;

/** The data a condition reads: the signals, plus `profile` and `account` (identity traits). */
export function conditionData(ctx: Pick<RuleContext, "signals" | "profile" | "account">): Record<string, unknown> {
  return { ...ctx.signals, profile: ctx.profile ?? {}, account: ctx.account ?? {} };
}

/** True when a condition names identity traits, so a decide needs the visitor's profile. */
export function readsProfile(rule: unknown): boolean {
  if (rule === undefined || rule === null || typeof rule !== "object") return false;
  // Conditions belong to a catalog version, which lives as long as the isolate caches it: answer
  // once per condition object, not per decide.
  let reads = profileReaders.get(rule);
  if (reads === undefined) profileReaders.set(rule, (reads = /"(profile|account)(\.[^"]*)?"/.test(JSON.stringify(rule))));
  return reads;
}
const profileReaders = new WeakMap<object, boolean>();

/*
 * Per-request values the rules derive from the context, computed once per context rather than
 * once per candidate block (a decide checks ~50): the page's path and the data conditions read.
 * The context is built once per decide and not changed while its blocks are checked.
 */
const pagePaths = new WeakMap<RuleContext, string | null>();
function pagePath(ctx: RuleContext): string | undefined {
  let path = pagePaths.get(ctx);
  if (path === undefined) {
    try {
      path = new URL(ctx.url ?? "").pathname;
    } catch {
      path = null;
    }
    pagePaths.set(ctx, path);
  }
  return path ?? undefined;
}
const conditionInputs = new WeakMap<RuleContext, Record<string, unknown>>();
function requestConditionData(ctx: RuleContext): Record<string, unknown> {
  let data = conditionInputs.get(ctx);
  if (data === undefined) conditionInputs.set(ctx, (data = conditionData(ctx)));
  return data;
}

/** Each rule by name; the order is the order of evaluation and of the debug output. */
export const STATIC_RULES: Record<string, Rule> = {
  consent: (ctx, block) => {
    const missing = (block.rules?.consentPurposes ?? []).filter((p) => ctx.consent[p] !== true);
    return missing.length ? fail("consent", missing.join(",")) : PASS;
  },
  suppression: (ctx, block) => {
    const lists = [ctx.config.exclusions.global, own(ctx.config.exclusions.campaigns, block.campaign)].filter((l) => l !== undefined);
    for (const list of lists) {
      if (listNames(list, ctx.visitorId, ctx.visitorKey)) return fail("excluded_visitor");
      if (ctx.emailHash && list.emailHashes.includes(ctx.emailHash)) return fail("excluded_email");
    }
    return PASS;
  },
  schedule: (ctx, block) => {
    const { startAt, endAt } = block.rules ?? {};
    if (startAt && ctx.now < Date.parse(startAt)) return fail("not_started", startAt);
    if (endAt && ctx.now >= Date.parse(endAt)) return fail("ended", endAt);
    return PASS;
  },
  country: (ctx, block) => {
    const { countries, excludeCountries } = block.rules ?? {};
    if (countries && !(ctx.country && countries.includes(ctx.country))) return fail("country", ctx.country ?? "unknown");
    if (excludeCountries && ctx.country && excludeCountries.includes(ctx.country)) return fail("country", ctx.country);
    return PASS;
  },
  device: (ctx, block) => {
    const devices = block.rules?.devices;
    if (!devices) return PASS;
    const device = ctx.signals.device;
    return device && devices.includes(device) ? PASS : fail("device", device ?? "unknown");
  },
  url: (ctx, block) => {
    const patterns = block.rules?.urlPatterns;
    if (!patterns) return PASS;
    const pathname = pagePath(ctx);
    if (pathname === undefined) return fail("url", "no page URL");
    // The rules see at most MAX_MATCHED_PATH characters of path: a longer one matches nothing.
    if (pathname.length > MAX_MATCHED_PATH) return fail("url", `path longer than ${MAX_MATCHED_PATH} characters`);
    return matchesAnyPath(pathname, patterns) ? PASS : fail("url", pathname);
  },
  pageTags: (ctx, block) => {
    const have = ctx.signals.pageTags ?? [];
    const missing = (block.rules?.pageTags ?? []).filter((t) => !have.includes(t));
    return missing.length ? fail("page_tags", missing.join(",")) : PASS;
  },
  condition: (ctx, block) => {
    const rule = block.rules?.condition;
    if (rule === undefined) return PASS;
    const outcome = runCondition(rule, requestConditionData(ctx));
    return outcome === true ? PASS : outcome === "over_budget" ? fail("condition", "evaluation budget exceeded") : fail("condition");
  },
  brand: (ctx, block) => {
    const pageTags = ctx.signals.pageTags ?? [];
    for (const f of ctx.config.brand.forbiddenOnPages) {
      if (block.tags.includes(f.blockTag) && f.pageTags.some((t) => pageTags.includes(t))) return fail("brand_conflict", f.blockTag);
    }
    return PASS;
  },
  region: (ctx, block) => {
    for (const r of ctx.config.compliance.regions) {
      if (!block.tags.includes(r.blockTag)) continue;
      if (r.allow && !(ctx.country && r.allow.includes(ctx.country))) return fail("region_restricted", ctx.country ?? "unknown");
      if (r.deny && ctx.country && r.deny.includes(ctx.country)) return fail("region_restricted", ctx.country);
    }
    return PASS;
  },
  ageGate: (ctx, block) => {
    const { ageGatedTag, minimumAge } = ctx.config.compliance;
    if (!block.tags.includes(ageGatedTag)) return PASS;
    const age = ctx.signals.declaredAge;
    return age !== undefined && age >= minimumAge ? PASS : fail("age_gate", age === undefined ? "no declared age" : String(age));
  },
};

/** One rule's outcome, as the debug output shows it. */
export interface RuleResult {
  rule: string;
  outcome: RuleOutcome;
}

/** Runs every request-level rule on a block; `exclusion` is the first failure, if any. */
export function evaluateStaticRules(ctx: RuleContext, block: Block): { results: RuleResult[]; exclusion?: Exclusion } {
  const results: RuleResult[] = [];
  let exclusion: Exclusion | undefined;
  for (const [rule, fn] of Object.entries(STATIC_RULES)) {
    const outcome = fn(ctx, block);
    results.push({ rule, outcome });
    if (!outcome.pass && !exclusion) {
      exclusion = { blockId: block.id, reason: outcome.reason, ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}) };
    }
  }
  return exclusion ? { results, exclusion } : { results };
}
