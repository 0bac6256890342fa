import { env } from "cloudflare:workers";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import type { ValidationReport } from "../../worker/models/report.ts";
import { call, decideOk } from "./helpers.ts";

export const AUTH = { authorization: "Bearer test-admin-token" };

/** Sends model bytes to POST /admin/models. */
export function upload(bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return call("/admin/models", { method: "POST", headers: { ...AUTH, "content-type": "application/octet-stream", ...headers }, body: bytes });
}

/** The body of a 201/200 upload. */
export interface Uploaded {
  id: string;
  version: string;
  status: string;
  created: boolean;
  uploadedBy: string;
  uploadedAt: number;
  report: ValidationReport;
}

/** Uploads and fails unless accepted. */
export async function uploadOk(bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Uploaded> {
  const res = await upload(bytes, headers);
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** An authorised admin call with an optional JSON body. */
export function adminCall(path: string, method = "GET", body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(`/admin/models${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** An admin call that must answer 200; returns the JSON. */
export async function adminOk<T = Record<string, unknown>>(path: string, method = "GET", body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await adminCall(path, method, body, headers);
  if (res.status !== 200) throw new Error(`${method} /admin/models${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

const holdout = { rate: Number(env.HOLDOUT_RATE), salt: env.HOLDOUT_SALT };

/** `count` visitor ids outside the universal control group. */
export function treatedVisitors(prefix: string, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (!isHeldOut(`${prefix}-${i}`, holdout)) out.push(`${prefix}-${i}`);
  return out;
}

/** A shopper on the shoes category page who browsed shoes: the default model serves shoes. */
export function shoesShopper(visitorId: string, slots = ["hero"]) {
  return {
    visitorId,
    slots,
    consent: { personalization: true, analytics: true },
    context: { url: "https://shop.example/shoes.html", signals: { pageType: "category", pageCategory: "shoes", categoryViews: { shoes: 4 }, visitCount: 3 } },
  };
}

/** The hero decision for a shoes shopper. */
export async function heroFor(visitorId: string) {
  return (await decideOk(shoesShopper(visitorId))).decisions[0]!;
}
