import { z } from "zod";
import { CATALOG_FEATURE_NAMES } from "./features.ts";
import { readMetadataProps } from "./onnx-metadata.ts";

/** The `metadata_props` key that carries the manifest inside the ONNX file (public contract). */
export const MANIFEST_KEY = "nextbest.manifest";

/** The model manifest: which features, in which order, and what the output means. */
export const manifestSchema = z.object({
  version: z.literal(1),
  name: z.string().min(1).max(128),
  /** Ordered feature names from the feature catalog (see models/README.md). */
  features: z
    .array(z.string())
    .min(1)
    .max(256)
    .refine((names) => names.every((n) => CATALOG_FEATURE_NAMES.includes(n)), {
      message: "every feature must be in the feature catalog",
    }),
  /** `probability`: the output is a click/conversion probability in [0, 1]. */
  output: z.enum(["probability", "score"]),
  /** Training baseline per feature, for drift checks. */
  baseline: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }).optional(),
  /**
   * The training data (written by `npm run train`): the time range of the export it read (epoch
   * ms, inclusive, the `time` of the first and last decision) and the rows it fitted on.
   * Off-policy evaluation warns when the evaluated window overlaps it.
   */
  training: z.object({ from: z.number(), to: z.number(), rows: z.number().int().min(0) }).optional(),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

/** Extracts and validates the manifest embedded in ONNX bytes. */
export function readManifest(model: Uint8Array): ModelManifest {
  const raw = readMetadataProps(model).get(MANIFEST_KEY);
  if (raw === undefined) throw new Error(`model has no "${MANIFEST_KEY}" metadata`);
  return manifestSchema.parse(JSON.parse(raw));
}
