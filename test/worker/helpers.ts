import { exports } from "cloudflare:workers";
import type { DecideResponse } from "../../worker/decide/schema.ts";

/** Sends a request to the Worker under test (same isolate, real bindings). */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://nextbest.test${path}`, init);
}

/** POSTs JSON to the decide route. */
export function postDecide(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call("/v1/decide", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Decides and returns the parsed answer, failing on a non-200. */
export async function decideOk(body: unknown): Promise<DecideResponse> {
  const res = await postDecide(body);
  if (res.status !== 200) throw new Error(`decide answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Visitor ids that are not in the 5% universal control group of wrangler.toml's salt. */
export const TREATED = ["v-2", "v-3", "v-4"];
