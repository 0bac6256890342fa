import { Hono } from "hono";
import type { AppEnv } from "../services.ts";
import { runLakeErasures } from "./erase.ts";
import { flushLake, lakeBacklog } from "./flush.ts";
import { LAKE_SCHEMA_VERSION } from "./schema.ts";

/**
 * Admin API of the lake (mounted at /admin/lake, bearer token required):
 *
 * - `GET /admin/lake`: `{ schemaVersion, backlog: { decisions, events }, files: { written, claimed },
 *   rows, bytes }` — rows not yet in a written file, and the ledger's totals.
 * - `POST /admin/lake/flush`: one flushLake run now (what the cron and the queue consumer do),
 *   then the pending visitor erasures (what the cron does), answering
 *   `{ files: [{ key, table, rows, bytes, resumed }], more, erasures }`.
 */
export const lakeRoute = new Hono<AppEnv>()
  .get("/", async (c) => {
    const ledger = await c.env.DB.prepare(
      "SELECT COUNT(written_at) AS written, COUNT(*) - COUNT(written_at) AS claimed, COALESCE(SUM(CASE WHEN written_at IS NOT NULL THEN rows END), 0) AS rows, " +
        "COALESCE(SUM(bytes), 0) AS bytes FROM lake_files",
    ).first<{ written: number; claimed: number; rows: number; bytes: number }>();
    return c.json({
      schemaVersion: LAKE_SCHEMA_VERSION,
      backlog: await lakeBacklog(c.env.DB),
      files: { written: ledger?.written ?? 0, claimed: ledger?.claimed ?? 0 },
      rows: ledger?.rows ?? 0,
      bytes: ledger?.bytes ?? 0,
    });
  })
  .post("/flush", async (c) => {
    const now = c.get("services").now();
    const flushed = await flushLake(c.env.DB, c.env.LAKE, { now });
    return c.json({ ...flushed, erasures: await runLakeErasures(c.env.DB, c.env.LAKE, { now }) });
  });
