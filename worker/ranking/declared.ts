/**
 * Declared features: model inputs a data scientist defines in the manifest (`declarations`)
 * instead of code — a numeric signal with a default, clipping, log1p, standardisation and
 * bucketing; a one-hot of a categorical signal; equality of a signal with a block attribute;
 * hour-of-week of the request and recency of a timestamp signal. A source named
 * `profile.<trait>` or `account.<trait>` reads the identified customer's traits (worker/identity/)
 * instead of the page's signals. The grammar is documented in
 * docs/features.md and validated here by zod at upload. The same module computes the values at
 * serving (worker/ranking/features.ts), and the trainer (models/trainer.ts) validates with it, so
 * training and serving share one definition (no training/serving skew).
 *
 * Declarations are compiled once per model version (`compileDeclarations`): the per-request
 * work is a closure call per cell, no parsing.
 */
import { z } from "zod";
import type { Block } from "../catalog/schema.ts";
import { accountTraitsSchema, profileTraitsSchema, type Profile } from "../identity/schema.ts";
import { readSignal, type Signals } from "./signals.ts";

/** Most declarations one manifest may carry, and most vocabulary entries of one one-hot. */
export const MAX_DECLARATIONS = 64;
export const MAX_VOCABULARY = 64;
export const MAX_TRANSFORMS = 8;

const featureName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a feature name: lower-case letters, digits and _, starting with a letter (max 64)");
/** Trait names a `profile.<trait>` / `account.<trait>` source may name (the consent-safe lists). */
export const TRAIT_NAMES = { profile: Object.keys(profileTraitsSchema.shape), account: Object.keys(accountTraitsSchema.shape) } as const;

/** Sources read from the customer's traits, never from the page's signals (a page cannot forge them). */
const TRAIT_SOURCE = /^(profile|account)\.(.+)$/;

/** A signal name, or a trait source `profile.<trait>` / `account.<trait>` naming a known trait. */
const signalName = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => {
    const m = TRAIT_SOURCE.exec(s);
    return !m || TRAIT_NAMES[m[1] as "profile" | "account"].includes(m[2]!.split(".")[0]!);
  }, `profile.<trait> is one of ${TRAIT_NAMES.profile.join(", ")}; account.<trait> one of ${TRAIT_NAMES.account.join(", ")}`);
const finite = z.number().finite();

/** One step of a numeric pipeline, applied in order. */
export const transformSchema = z.discriminatedUnion("op", [
  /** Keeps the value within [min, max]. */
  z.object({ op: z.literal("clip"), min: finite, max: finite }).strict().refine((t) => t.min <= t.max, "min must be ≤ max"),
  /** ln(1 + max(x, 0)): negative inputs count as 0, so the result is always finite. */
  z.object({ op: z.literal("log1p") }).strict(),
  /** (x − mean) / std. */
  z.object({ op: z.literal("standardize"), mean: finite, std: finite.positive() }).strict(),
  /** The number of edges ≤ x (0 … edges.length): bucket index over ascending edges. */
  z
    .object({ op: z.literal("bucket"), edges: z.array(finite).min(1).max(64) })
    .strict()
    .refine((t) => t.edges.every((e, i) => i === 0 || e > t.edges[i - 1]!), "edges must be strictly ascending"),
]);
export type Transform = z.infer<typeof transformSchema>;

const transforms = z.array(transformSchema).max(MAX_TRANSFORMS).optional();

/** Block attributes a `block_match` declaration compares with: fixed fields, a tag, or `attributes.<key>`. */
const blockAttribute = z.union([
  z.enum(["id", "category", "campaign", "tag"]),
  z.string().regex(/^attributes\.[A-Za-z0-9_-]{1,64}$/, "id, category, campaign, tag or attributes.<key>"),
]);

/** One declaration; `kind` says where the value comes from. */
export const declarationSchema = z.discriminatedUnion("kind", [
  /** A numeric signal (booleans count 0/1); `default` when absent or not a number. */
  z.object({ kind: z.literal("signal"), signal: signalName, default: finite.default(0), transforms }).strict(),
  /** now − a timestamp signal (epoch ms, or an ISO 8601 string) in `unit`, at least 0; `default` when absent. */
  z.object({ kind: z.literal("recency"), signal: signalName, unit: z.enum(["seconds", "minutes", "hours", "days"]).default("days"), default: finite.default(0), transforms }).strict(),
  /** Hour of the week of the request, 0 (Monday 00:00) … 167, at UTC + `offsetMinutes`. */
  z.object({ kind: z.literal("hour_of_week"), offsetMinutes: z.number().int().min(-840).max(840).default(0), transforms }).strict(),
  /** One column `<name>=<value>` per vocabulary entry: 1 when the signal (as text) equals it. */
  z
    .object({ kind: z.literal("one_hot"), signal: signalName, vocabulary: z.array(z.string().min(1).max(64)).min(1).max(MAX_VOCABULARY) })
    .strict()
    .refine((d) => new Set(d.vocabulary).size === d.vocabulary.length, "vocabulary entries must be unique"),
  /** 1 when the signal (as text) equals the candidate block's attribute (`tag`: is one of its tags). */
  z.object({ kind: z.literal("block_match"), signal: signalName, attribute: blockAttribute }).strict(),
]);
export type Declaration = z.infer<typeof declarationSchema>;

/** The manifest's `declarations`: feature name → declaration. */
export const declarationsSchema = z
  .record(featureName, declarationSchema)
  .refine((d) => Object.keys(d).length <= MAX_DECLARATIONS, `at most ${MAX_DECLARATIONS} declarations`);
export type Declarations = z.infer<typeof declarationsSchema>;

/** What a declared feature sees: the request's signals, its time and one candidate block. */
export interface DeclaredInput {
  signals: Signals;
  block: Block;
  /** Decision time, ms since the epoch. */
  now: number;
  /**
   * The identified customer's traits (worker/identity/), read by sources `profile.<trait>` and
   * `account.<trait>`; absent for an anonymous visitor (the declaration's default applies).
   */
  traits?: Profile;
}

/** Reads a declaration's source: `profile.<trait>` / `account.<trait>` from the traits, else a signal. */
function reader(source: string): (input: DeclaredInput) => unknown {
  const trait = TRAIT_SOURCE.exec(source);
  if (!trait) return ({ signals }) => readSignal(signals, source);
  const [, scope, path] = trait as unknown as [string, "profile" | "account", string];
  return ({ traits }) => (traits ? readSignal(traits[scope], path) : undefined);
}

/** Whether any declaration reads `profile.*` or `account.*` (decide then fetches the traits). */
export function readsTraits(declarations: Declarations | undefined): boolean {
  if (!declarations) return false;
  let reads = traitReaders.get(declarations);
  if (reads === undefined) traitReaders.set(declarations, (reads = Object.values(declarations).some((d) => "signal" in d && TRAIT_SOURCE.test(d.signal))));
  return reads;
}
const traitReaders = new WeakMap<Declarations, boolean>();

export type FeatureFn = (input: DeclaredInput) => number;

/** The column names a declaration provides: its own name, or `<name>=<value>` for one-hots. */
export function declaredColumns(name: string, d: Declaration): string[] {
  return d.kind === "one_hot" ? d.vocabulary.map((v) => `${name}=${v}`) : [name];
}

/** Every column the declarations provide → its computation. */
export function compileDeclarations(declarations: Declarations | undefined): Map<string, FeatureFn> {
  const out = new Map<string, FeatureFn>();
  for (const [name, d] of Object.entries(declarations ?? {})) {
    if (d.kind === "one_hot") {
      const read = reader(d.signal);
      // A list (a trait's `segments`, the page's `pageTags`): 1 when it holds the entry.
      for (const value of d.vocabulary) out.set(`${name}=${value}`, (input) => {
        const v = read(input);
        return (Array.isArray(v) ? v.includes(value) : asText(v) === value) ? 1 : 0;
      });
    } else out.set(name, compileOne(d));
  }
  return out;
}

const asText = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined);

function asNumber(v: unknown): number | undefined {
  if (typeof v === "boolean") return v ? 1 : 0;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function asTime(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v !== "string") return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;

/** Hour of week, Monday 00:00 = 0 (ISO 8601 weeks start on Monday). */
export function hourOfWeek(now: number, offsetMinutes = 0): number {
  const d = new Date(now + offsetMinutes * 60_000);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}

function pipeline(steps: Transform[] | undefined): (x: number) => number {
  const fns = (steps ?? []).map((t): ((x: number) => number) => {
    switch (t.op) {
      case "clip":
        return (x) => Math.min(Math.max(x, t.min), t.max);
      case "log1p":
        return (x) => Math.log1p(Math.max(x, 0));
      case "standardize":
        return (x) => (x - t.mean) / t.std;
      case "bucket":
        return (x) => {
          let i = 0;
          while (i < t.edges.length && t.edges[i]! <= x) i++;
          return i;
        };
    }
  });
  return (x) => fns.reduce((v, f) => f(v), x);
}

function blockValue(block: Block, attribute: string): unknown {
  if (attribute === "id" || attribute === "category" || attribute === "campaign") return block[attribute];
  const key = attribute.slice("attributes.".length);
  const attrs = (block as { attributes?: Record<string, unknown> }).attributes;
  return attrs && Object.hasOwn(attrs, key) ? attrs[key] : undefined;
}

function compileOne(d: Exclude<Declaration, { kind: "one_hot" }>): FeatureFn {
  switch (d.kind) {
    case "signal": {
      const post = pipeline(d.transforms);
      const read = reader(d.signal);
      return (input) => post(asNumber(read(input)) ?? d.default);
    }
    case "recency": {
      const post = pipeline(d.transforms);
      const unit = UNIT_MS[d.unit];
      const read = reader(d.signal);
      return (input) => {
        const now = input.now;
        const t = asTime(read(input));
        return post(t === undefined ? d.default : Math.max(0, now - t) / unit);
      };
    }
    case "hour_of_week": {
      const post = pipeline(d.transforms);
      return ({ now }) => post(hourOfWeek(now, d.offsetMinutes));
    }
    case "block_match": {
      const read = reader(d.signal);
      if (d.attribute === "tag") return (input) => {
        const v = asText(read(input));
        return v !== undefined && input.block.tags.includes(v) ? 1 : 0;
      };
      return (input) => {
        const { block } = input;
        const v = asText(read(input));
        return v !== undefined && v === asText(blockValue(block, d.attribute)) ? 1 : 0;
      };
    }
  }
}
