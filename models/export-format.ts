/**
 * The training export: JSON Lines, one logged decision per line, as `GET /admin/export` writes it
 * (worker/export/line.ts) and models/obd-to-export.ts converts the Open Bandit Dataset to.
 * Read by the reference trainer (models/train.ts).
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";

const candidateSchema = z.object({
  blockId: z.string().min(1),
  /** In the order of the line's `featureNames`; empty when no model scored the decision. */
  features: z.array(z.number()),
  /** The serving model's score; null or absent when none. */
  score: z.number().nullable().optional(),
});

/** One logged decision with its outcomes. */
export const exportLineSchema = z.object({
  decisionId: z.string().min(1),
  time: z.number(),
  visitorKey: z.string(),
  slot: z.string(),
  modelVersion: z.string().nullable(),
  featureNames: z.array(z.string()),
  candidates: z.array(candidateSchema),
  chosenBlockId: z.string().min(1),
  /** Probability with which the logging policy chose the served block; null when unknown. */
  propensity: z.number().min(0).max(1).nullable(),
  holdout: z.boolean(),
  outcomes: z.object({ impression: z.number(), click: z.number(), conversion: z.number(), value: z.number() }),
});

export type ExportLine = z.infer<typeof exportLineSchema>;

/** Parses one line; the error names the line number and the field. */
export function parseExportLine(text: string, lineNumber: number): ExportLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`line ${lineNumber}: not JSON`);
  }
  const parsed = exportLineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`line ${lineNumber}: ${issue.path.join(".") || "line"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads an export file line by line (it may be larger than memory would like as one string). */
export async function* readExport(path: string): AsyncGenerator<ExportLine> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === "") continue;
    yield parseExportLine(text, n);
  }
}

/** One line of JSON Lines, newline included. */
export function exportLine(line: ExportLine): string {
  return `${JSON.stringify(line)}\n`;
}
