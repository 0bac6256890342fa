/**
 * The guardrail configuration: rules that apply across blocks (blocks carry their own rules in
 * the catalog). JSON, validated by zod, versioned in D1 with who/when (see store.ts).
 */
import { z } from "zod";
import { arbitrationSchema } from "../arbitration/config.ts";
import { capSchema } from "./caps.ts";

const name = z.string().min(1).max(64);
const country = z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 country code, upper case");
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "SHA-256 of the lower-cased email, hex");

const suppression = z.object({
  /** Raw visitor ids as an admin sends them: every save turns them into `visitorKeys` (suppression.ts). */
  visitorIds: z.array(z.string().min(1).max(128)).max(100_000).default([]),
  /** Pseudonymous visitor keys (worker/visitor/key.ts): what saved configurations hold. */
  visitorKeys: z.array(z.string().regex(/^[0-9a-f]{32}$/, "a visitor key: 32 hex digits")).max(100_000).default([]),
  emailHashes: z.array(sha256Hex).max(100_000).default([]),
});

export const guardrailConfigSchema = z
  .object({
    frequencyCaps: z
      .object({
        /** At most N personalised blocks per visitor per window. */
        global: z.array(capSchema).max(10).default([]),
        perCampaign: z.record(name, z.array(capSchema).max(10)).default({}),
        perBlock: z.record(name, z.array(capSchema).max(10)).default({}),
      })
      .default({ global: [], perCampaign: {}, perBlock: {} }),
    exclusions: z
      .object({
        global: suppression.default({ visitorIds: [], visitorKeys: [], emailHashes: [] }),
        campaigns: z.record(name, suppression).default({}),
        /** Once a visitor converted on a campaign, its blocks are no longer shown to them. */
        excludeConvertedCampaigns: z.boolean().default(true),
      })
      .default({ global: { visitorIds: [], visitorKeys: [], emailHashes: [] }, campaigns: {}, excludeConvertedCampaigns: true }),
    brand: z
      .object({
        /** A block with `blockTag` must not appear on pages tagged with any of `pageTags`. */
        forbiddenOnPages: z.array(z.object({ blockTag: name, pageTags: z.array(name).min(1) })).max(100).default([]),
        /** At most this many blocks tagged `promotionalTag` on one page. */
        maxPromotionalPerPage: z.number().int().min(0).max(10).default(10),
        promotionalTag: name.default("promo"),
        /** One campaign at most once per page (off by default: campaigns often pair a hero and a cross-sell). */
        oneBlockPerCampaign: z.boolean().default(false),
      })
      .default({ forbiddenOnPages: [], maxPromotionalPerPage: 10, promotionalTag: "promo", oneBlockPerCampaign: false }),
    compliance: z
      .object({
        /** Content restrictions by region: blocks with `blockTag` only in `allow` / never in `deny`. */
        regions: z
          .array(
            z
              .object({ blockTag: name, allow: z.array(country).optional(), deny: z.array(country).optional() })
              .refine((r) => r.allow || r.deny, "give allow or deny"),
          )
          .max(100)
          .default([]),
        /** Blocks with this tag need a declared age signal (`declaredAge`) ≥ minimumAge. */
        ageGatedTag: name.default("age-restricted"),
        minimumAge: z.number().int().min(0).max(120).default(18),
      })
      .default({ regions: [], ageGatedTag: "age-restricted", minimumAge: 18 }),
    /** Ranking slower than this answers with the rule-based fallback. */
    latencyBudgetMs: z.number().min(1).max(10_000).default(20),
    /** Loading a model (first request of an isolate) may take this long before falling back. */
    coldStartBudgetMs: z.number().min(1).max(30_000).default(1_000),
    /** Inactivity that ends a session (for `session` cap windows). */
    sessionTimeoutMinutes: z.number().min(1).max(24 * 60).default(30),
    /** How outcome propensities, value, context weight and levers make a priority (worker/arbitration/); absent: p(click) × value. */
    arbitration: arbitrationSchema.optional(),
  })
  .strict();

export type GuardrailConfig = z.infer<typeof guardrailConfigSchema>;
/** What an admin may send: every section optional, defaults filled in. */
export type GuardrailConfigInput = z.input<typeof guardrailConfigSchema>;

/** The configuration in force when none was ever saved. */
export const DEFAULT_GUARDRAILS: GuardrailConfig = guardrailConfigSchema.parse({});
