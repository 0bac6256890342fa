import { z } from "zod";
import { decideRequestSchema } from "../decide/schema.ts";

/** A time in a body: ms since the epoch or an ISO 8601 date/time. */
const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const blockId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/);

/**
 * The visitor's history as the preview should assume it (what the visitor's Durable Object would
 * hold): served blocks with their times, and campaigns converted on. Absent: a new visitor.
 */
export const previewHistorySchema = z.object({
  /** Blocks served before, each with its time (frequency caps count them). */
  exposures: z.array(z.object({ blockId, at: time })).max(500).default([]),
  /** Campaigns the visitor converted on (the already-converted exclusion). */
  converted: z.array(z.string().min(1).max(64)).max(50).default([]),
  /** Start of the current session; default: the first exposure, or the preview's time. */
  sessionStart: time.optional(),
});

/**
 * `POST /admin/preview` (and the body a preview link signs): a described visitor, decided like
 * `POST /v1/decide` without recording anything (docs/API.md).
 */
export const previewRequestSchema = decideRequestSchema
  .omit({ debug: true, record: true, visitorId: true })
  .extend({
    /** Only for hashing: holdout and arm assignment, exploration. Nothing is stored under it. */
    visitorId: z.string().min(1).max(128).default("preview-visitor"),
    /** ISO country the request would come from (`cf.country`). */
    country: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 country code, upper case").optional(),
    /** Shorthand for `context.signals.device`. */
    device: z.enum(["mobile", "tablet", "desktop"]).optional(),
    /** When to decide (schedules, sliding windows); default now. */
    time: time.optional(),
    history: previewHistorySchema.optional(),
    /** Also consider blocks that are not serving yet (status `draft`); archived ones never. */
    includeDrafts: z.boolean().default(false),
    /**
     * true/false forces the visitor into or out of the universal control group (false also
     * leaves every campaign holdout); absent: assigned by `visitorId` as a real decide would.
     */
    holdout: z.boolean().optional(),
    /** Explore as a live decide does (epsilon); default false: the best allowed block. */
    explore: z.boolean().default(false),
  });

export type PreviewRequest = z.infer<typeof previewRequestSchema>;
export type PreviewInput = z.input<typeof previewRequestSchema>;
export type PreviewHistory = z.infer<typeof previewHistorySchema>;
