/**
 * Parquet encoding and decoding of lake files with hyparquet-writer / hyparquet (pure
 * JavaScript, so they run in workerd; Snappy compression is built in).
 */
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import { LAKE_SCHEMA_VERSION, TABLES, type LakeTable } from "./schema.ts";

/** Written into every file's `created_by`; fixed so a file's bytes depend only on its rows. */
export const CREATED_BY = "nextbest lake (hyparquet-writer 0.17.0)";

/**
 * Encodes rows (D1 shape, already in file order) as one Parquet file of `table`'s schema. The
 * bytes are a function of the rows alone (no clock, no randomness): rewriting a file after a
 * crash produces the same object.
 */
export function encodeLakeFile<T extends LakeTable>(table: T, rows: readonly Record<string, unknown>[]): ArrayBuffer {
  const columns = TABLES[table].columns as readonly { name: string; elements: import("hyparquet").SchemaElement[]; value: (r: never) => unknown; plain?: true }[];
  const schema = [{ name: "root", num_children: columns.length }, ...columns.flatMap((c) => c.elements)];
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    schema,
    columnData: columns.map((c) => ({ name: c.name, data: rows.map((r) => c.value(r as never)), ...(c.plain ? { encoding: "PLAIN" as const, statistics: false } : {}) })),
    createdBy: CREATED_BY,
    kvMetadata: [
      { key: "nextbest.schema_version", value: String(LAKE_SCHEMA_VERSION) },
      { key: "nextbest.table", value: table },
    ],
    // One row group per file: files hold at most one flush's rows.
    rowGroupSize: Math.max(rows.length, 1),
  });
  return writer.getBuffer();
}

/** Reads a lake file's rows as objects (only `columns`, when given). Timestamps come back as ms. */
export async function decodeLakeFile(file: ArrayBuffer, columns?: string[]): Promise<Record<string, unknown>[]> {
  const rows = (await parquetReadObjects({ file, columns })) as Record<string, unknown>[];
  for (const row of rows) {
    const time = row.time;
    if (time instanceof Date) row.time = time.getTime();
    else if (typeof time === "bigint") row.time = Number(time);
  }
  return rows;
}

/** The `nextbest.schema_version` of a file (0 when absent). */
export function lakeFileSchemaVersion(file: ArrayBuffer): number {
  const kv = parquetMetadata(file).key_value_metadata ?? [];
  return Number(kv.find((e) => e.key === "nextbest.schema_version")?.value ?? 0);
}
