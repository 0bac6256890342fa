import { z } from "zod";
import { signalsSchema } from "../ranking/signals.ts";

const slotName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "slot names are lowercase letters, digits, - and _");

/** `POST /v1/decide` body (the public contract, docs/API.md). */
export const decideRequestSchema = z.object({
  visitorId: z.string().min(1).max(128),
  slots: z
    .array(slotName)
    .min(1)
    .max(10)
    .refine((s) => new Set(s).size === s.length, "slots must be unique"),
  /** Missing consent means none: the visitor gets the default blocks. */
  consent: z
    .object({ personalization: z.boolean().default(false), analytics: z.boolean().default(false) })
    .catchall(z.boolean())
    .default({ personalization: false, analytics: false }),
  context: z
    .object({
      url: z.string().max(2048).optional(),
      signals: signalsSchema.default({}),
      /** SHA-256 (hex) of the visitor's lower-cased email, for suppression lists. */
      emailHash: z.string().regex(/^[0-9a-f]{64}$/, "SHA-256 hex of the lower-cased email").optional(),
    })
    .default({ signals: {} }),
  /** Per-candidate rule outcomes and scores in the answer; needs the admin token. */
  debug: z.boolean().default(false),
  /**
   * With `debug: true`, also record the decision as a real one (caps consumed in the visitor's
   * Durable Object, audit rows). A debug decide records nothing by default. Ignored without debug.
   */
  record: z.boolean().default(false),
});

export type DecideRequest = z.infer<typeof decideRequestSchema>;

/** Why a block was served (docs/API.md). */
export type DecisionReason = "ranked" | "holdout" | "fallback" | "default";

/** One slot's answer. */
export interface Decision {
  slot: string;
  decisionId: string;
  block: { id: string; html: string };
  holdout: boolean;
  /** Probability with which this block was chosen for this slot (for off-policy evaluation). */
  propensity: number;
  /** The model that ranked the candidates; null when no model was used. */
  modelVersion: string | null;
  reason: DecisionReason;
  /** Model score of the served block (when ranked). */
  score?: number;
  /** True when exploration, not the best score, picked the block. */
  explored?: boolean;
}

export interface DecideResponse {
  decisions: Decision[];
}
