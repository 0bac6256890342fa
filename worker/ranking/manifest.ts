import { z } from "zod";
import { featureHistogramSchema, numericHistogramSchema } from "../drift/baseline.ts";
import { declarationsSchema, declaredColumns } from "./declared.ts";
import { CATALOG_FEATURE_NAMES } from "./features.ts";
import { readMetadataProps } from "./onnx-metadata.ts";

/** The `metadata_props` key that carries the manifest inside the ONNX file (public contract). */
export const MANIFEST_KEY = "nextbest.manifest";

/** Outcomes a model may predict besides a custom event name (docs/API.md, "Several outcomes"). */
export const KNOWN_OUTCOMES = ["click", "conversion", "churn", "expansion"] as const;
/** What a manifest without `outcome` predicts. */
export const DEFAULT_OUTCOME = "click";
export const outcomeSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "click, conversion, churn, expansion or a custom event name (lower-case, max 32)");

/** The model manifest: which features, in which order, and what the output means. */
export const manifestSchema = z.object({
  version: z.literal(1),
  name: z.string().min(1).max(128),
  /** Ordered feature names: the feature catalog's (models/README.md) or declared columns (docs/features.md). */
  features: z.array(z.string().max(200)).min(1).max(256),
  /** Features computed from the request without code (worker/ranking/declared.ts, docs/features.md). */
  declarations: declarationsSchema.optional(),
  /** What the model predicts (absent: `click`); one model per outcome serves at a time. */
  outcome: outcomeSchema.optional(),
  /** `probability`: the output is a click/conversion probability in [0, 1]. */
  output: z.enum(["probability", "score"]),
  /**
   * Training baseline, for drift checks (worker/drift/): per feature mean and std (in feature
   * order); optionally per feature name the training histogram and the training score
   * distribution (worker/drift/baseline.ts). Without histograms drift compares against the
   * model's first day of serving.
   */
  baseline: z
    .object({
      mean: z.array(z.number()),
      std: z.array(z.number()),
      histograms: z.record(z.string(), featureHistogramSchema).optional(),
      scores: numericHistogramSchema.optional(),
    })
    .optional(),
  /**
   * The training data (written by `npm run train`): the time range of the export it read (epoch
   * ms, inclusive, the `time` of the first and last decision) and the rows it fitted on.
   * Off-policy evaluation warns when the evaluated window overlaps it.
   */
  training: z.object({ from: z.number(), to: z.number(), rows: z.number().int().min(0) }).optional(),
}).superRefine((m, ctx) => {
  // Every column must be computable: a catalog name or a declared one; a declaration never
  // redefines a catalog name (a name means one thing everywhere).
  const declared = new Set(Object.entries(m.declarations ?? {}).flatMap(([n, d]) => declaredColumns(n, d)));
  for (const n of Object.keys(m.declarations ?? {})) {
    if (CATALOG_FEATURE_NAMES.includes(n)) ctx.addIssue({ code: "custom", path: ["declarations", n], message: `"${n}" is a catalog feature; declare it under another name` });
  }
  for (const n of Object.keys(m.baseline?.histograms ?? {})) {
    if (!m.features.includes(n)) ctx.addIssue({ code: "custom", path: ["baseline", "histograms", n], message: `a histogram for "${n}", which is not one of the manifest's features` });
  }
  m.features.forEach((f, i) => {
    if (!CATALOG_FEATURE_NAMES.includes(f) && !declared.has(f)) {
      ctx.addIssue({ code: "custom", path: ["features", i], message: `unknown feature "${f}": neither in the feature catalog (models/README.md) nor declared (docs/features.md)` });
    }
  });
});

/** The outcome a manifest predicts (`click` for manifests written before outcomes existed). */
export const outcomeOf = (m: Pick<ModelManifest, "outcome">): string => m.outcome ?? DEFAULT_OUTCOME;

export type ModelManifest = z.infer<typeof manifestSchema>;

/** Extracts and validates the manifest embedded in ONNX bytes. */
export function readManifest(model: Uint8Array): ModelManifest {
  const raw = readMetadataProps(model).get(MANIFEST_KEY);
  if (raw === undefined) throw new Error(`model has no "${MANIFEST_KEY}" metadata`);
  return manifestSchema.parse(JSON.parse(raw));
}
