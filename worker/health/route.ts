import { Hono } from "hono";

/** `GET /healthz`: the trivial route benchmarks compare against. */
export const healthRoute = new Hono().get("/", (c) => c.json({ ok: true }));
