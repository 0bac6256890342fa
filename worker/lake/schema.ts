/**
 * The lake's Parquet schemas, column by column (docs/lake.md is the reader's version of this
 * file). Types are chosen for what DuckDB, Spark, BigQuery and ClickHouse read natively:
 * timestamps are INT64 TIMESTAMP(MILLIS, UTC); lists of ids and numbers are Parquet LISTs
 * (3-level, `list`/`element`); irregular nested objects (exclusions, shadows) are JSON strings.
 *
 * Versioning: every row carries `schema_version` and every file the key-value metadata
 * `nextbest.schema_version`. Columns are only ever added (at the end), never renamed or retyped;
 * a change that cannot be an addition bumps the version.
 */
import type { SchemaElement } from "hyparquet";
import type { DecisionRow } from "../audit/d1.ts";

/** Version of the column layout below. */
export const LAKE_SCHEMA_VERSION = 1;

/** The lake's tables. */
export const LAKE_TABLES = ["decisions", "events"] as const;
export type LakeTable = (typeof LAKE_TABLES)[number];

/** An `events` row as D1 returns it. */
export interface EventRow {
  id: string;
  time: number;
  type: string;
  name: string | null;
  decision_id: string | null;
  visitor_key: string;
  block_id: string | null;
  slot: string | null;
  value: number | null;
  currency: string | null;
}

type Repetition = "REQUIRED" | "OPTIONAL";

/** One column: its Parquet schema elements (a LIST is a group of three) and its value per row. */
interface Column<R> {
  name: string;
  elements: SchemaElement[];
  value: (row: R) => unknown;
  /**
   * Written PLAIN, without min/max statistics: for lists of mostly distinct doubles (features,
   * scores) the writer's dictionary attempt and statistics cost about a fifth of encoding a
   * 50-candidate decision and saved no bytes (hyparquet-writer keeps a dictionary only when it
   * halves the size; measured on the lake-size test's decisions).
   */
  plain?: true;
}

const string = (name: string, rep: Repetition = "REQUIRED"): SchemaElement[] => [
  { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: rep },
];
const json = (name: string, rep: Repetition = "REQUIRED"): SchemaElement[] => [{ name, type: "BYTE_ARRAY", converted_type: "JSON", repetition_type: rep }];
const double = (name: string, rep: Repetition = "REQUIRED"): SchemaElement[] => [{ name, type: "DOUBLE", repetition_type: rep }];
const bool = (name: string): SchemaElement[] => [{ name, type: "BOOLEAN", repetition_type: "REQUIRED" }];
const int32 = (name: string): SchemaElement[] => [{ name, type: "INT32", repetition_type: "REQUIRED" }];
const timestamp = (name: string): SchemaElement[] => [
  {
    name,
    type: "INT64",
    converted_type: "TIMESTAMP_MILLIS",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
    repetition_type: "REQUIRED",
  },
];
/** A LIST (standard 3-level layout) whose elements are `element`'s schema, renamed `element`. */
const list = (name: string, element: SchemaElement[]): SchemaElement[] => [
  { name, repetition_type: "REQUIRED", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { ...element[0]!, name: "element" },
  ...element.slice(1),
];

const parse = (text: string): unknown => JSON.parse(text);
/**
 * Features and scores are float32 (the model's tensors). The audit log writes them as their
 * shortest decimal (worker/audit/float32.ts: 0.4); the lake stores the float32 itself, widened to
 * DOUBLE exactly (0.4000000059604645) — the values it held before that shortening, and a widened
 * float32's 29 zero mantissa bits compress: 2,366 instead of 2,842 bytes a decision in
 * test/worker/lake-size.test.ts. The readers (read.ts, export/query.ts) give them in shortest
 * form again (`float32Row`). Lossless because every producer logs float32 values (scorers return
 * Float32Arrays, features come from the float32 feature matrix); a double that is no float32 would
 * be rounded to one here.
 */
const fround = (x: number | null) => (x === null ? null : Math.fround(x));
const widenedRow = (row: (number | null)[]) => row.map(fround);
const widenedRows = (rows: (number | null)[][]) => rows.map(widenedRow);

/** Columns of `lake/decisions/…` files, in file order. Lists are aligned with `candidates`. */
export const DECISION_COLUMNS: Column<DecisionRow>[] = [
  { name: "schema_version", elements: int32("schema_version"), value: () => LAKE_SCHEMA_VERSION },
  { name: "decision_id", elements: string("decision_id"), value: (r) => r.decision_id },
  { name: "time", elements: timestamp("time"), value: (r) => BigInt(r.time) },
  { name: "visitor_key", elements: string("visitor_key"), value: (r) => r.visitor_key },
  { name: "slot", elements: string("slot"), value: (r) => r.slot },
  { name: "page", elements: string("page", "OPTIONAL"), value: (r) => r.page },
  { name: "reason", elements: string("reason"), value: (r) => r.reason },
  { name: "consent_personalization", elements: bool("consent_personalization"), value: (r) => r.consent_personalization === 1 },
  { name: "consent_analytics", elements: bool("consent_analytics"), value: (r) => r.consent_analytics === 1 },
  { name: "candidates", elements: list("candidates", string("element")), value: (r) => parse(r.candidates) },
  { name: "excluded", elements: json("excluded"), value: (r) => r.excluded },
  { name: "feature_names", elements: list("feature_names", string("element")), value: (r) => parse(r.feature_names) },
  // JSON has no NaN: a non-finite value the model saw arrives as null, hence OPTIONAL elements.
  { name: "features", elements: list("features", list("element", double("element", "OPTIONAL"))), value: (r) => widenedRows(parse(r.features) as (number | null)[][]), plain: true },
  { name: "scores", elements: list("scores", double("element", "OPTIONAL")), value: (r) => widenedRow(parse(r.scores) as (number | null)[]), plain: true },
  { name: "chosen_block_id", elements: string("chosen_block_id"), value: (r) => r.chosen_block_id },
  { name: "propensity", elements: double("propensity", "OPTIONAL"), value: (r) => r.propensity },
  { name: "explored", elements: bool("explored"), value: (r) => r.explored === 1 },
  { name: "holdout", elements: bool("holdout"), value: (r) => r.holdout === 1 },
  { name: "holdout_scope", elements: string("holdout_scope", "OPTIONAL"), value: (r) => r.holdout_scope },
  { name: "counterfactual_block_id", elements: string("counterfactual_block_id", "OPTIONAL"), value: (r) => r.counterfactual_block_id },
  { name: "counterfactual_campaign", elements: string("counterfactual_campaign", "OPTIONAL"), value: (r) => r.counterfactual_campaign },
  { name: "campaign", elements: string("campaign", "OPTIONAL"), value: (r) => r.campaign },
  { name: "model_version", elements: string("model_version", "OPTIONAL"), value: (r) => r.model_version },
  { name: "arm", elements: string("arm"), value: (r) => r.arm },
  { name: "shadows", elements: json("shadows"), value: (r) => r.shadows },
  { name: "latency_ms", elements: double("latency_ms"), value: (r) => r.latency_ms },
  { name: "hash_version", elements: string("hash_version"), value: (r) => r.hash_version },
  // Added after version 1 (an addition at the end, so the version stays 1; docs/lake.md).
  { name: "arbitration", elements: json("arbitration", "OPTIONAL"), value: (r) => r.arbitration ?? null },
  // Added after version 1, at the end (issue 18, worker/moments/).
  { name: "moments", elements: json("moments", "OPTIONAL"), value: (r) => r.moments ?? null },
  { name: "next_action", elements: json("next_action", "OPTIONAL"), value: (r) => r.next_action ?? null },
];

/** Columns of `lake/events/…` files, in file order. */
export const EVENT_COLUMNS: Column<EventRow>[] = [
  { name: "schema_version", elements: int32("schema_version"), value: () => LAKE_SCHEMA_VERSION },
  { name: "id", elements: string("id"), value: (r) => r.id },
  { name: "time", elements: timestamp("time"), value: (r) => BigInt(r.time) },
  { name: "type", elements: string("type"), value: (r) => r.type },
  { name: "name", elements: string("name", "OPTIONAL"), value: (r) => r.name },
  { name: "decision_id", elements: string("decision_id", "OPTIONAL"), value: (r) => r.decision_id },
  { name: "visitor_key", elements: string("visitor_key"), value: (r) => r.visitor_key },
  { name: "block_id", elements: string("block_id", "OPTIONAL"), value: (r) => r.block_id },
  { name: "slot", elements: string("slot", "OPTIONAL"), value: (r) => r.slot },
  { name: "value", elements: double("value", "OPTIONAL"), value: (r) => r.value },
  { name: "currency", elements: string("currency", "OPTIONAL"), value: (r) => r.currency },
];

/** Per table: its columns, its D1 id column (the tie-break of the time order). */
export const TABLES = {
  decisions: { columns: DECISION_COLUMNS, id: "decision_id" },
  events: { columns: EVENT_COLUMNS, id: "id" },
} as const;

/** The D1 columns a lake file is built from (the lake adds `schema_version`). */
export function d1Columns(table: LakeTable): string[] {
  return TABLES[table].columns.filter((c) => c.name !== "schema_version").map((c) => c.name);
}
