// The decide call: one POST /v1/decide for all slots of the page, with a hard timeout. It never
// throws and never returns a malformed decision, so a failure simply leaves the default content.
import type { Consent, DecideRequest, Decision, Signals } from "./types.ts";

/** After this many milliseconds the page keeps its default content. */
export const DEFAULT_TIMEOUT_MS = 600;
/** The most slots one request asks for. */
export const MAX_SLOTS = 10;

const REASONS = ["ranked", "holdout", "fallback", "default"];

/** The longest page URL sent; the Worker refuses longer ones. */
export const MAX_URL_LENGTH = 2048;

/**
 * The slot names the Worker accepts. A request with one bad name would be refused as a whole,
 * so badly named slots are skipped (and keep their default content) instead.
 */
export const SLOT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The unique valid `data-nb-slot` names under `root`, in document order, at most MAX_SLOTS. */
export function findSlotNames(root: ParentNode = document): string[] {
  const names = new Set<string>();
  for (const element of root.querySelectorAll("[data-nb-slot]")) {
    // Slots the edge already filled in the HTML (proxy mode) are not decided a second time.
    if (element.getAttribute("data-nb-source") === "edge") continue;
    const name = element.getAttribute("data-nb-slot")?.trim() ?? "";
    if (SLOT_NAME.test(name) && names.size < MAX_SLOTS) names.add(name);
  }
  return [...names];
}

/** Keeps the decisions that have every field the renderer and the debug view rely on. */
export function parseDecisions(body: unknown): Decision[] {
  const decisions = (body as { decisions?: unknown } | null)?.decisions;
  if (!Array.isArray(decisions)) return [];
  return decisions.filter((d: Decision | null): d is Decision =>
    typeof d?.slot === "string" &&
    typeof d.decisionId === "string" &&
    typeof d.block?.id === "string" &&
    typeof d.block.html === "string" &&
    REASONS.includes(d.reason),
  );
}

/** What a decide request needs besides the slot names. */
export interface DecideOptions {
  /** Origin (or base URL) of the nextbest Worker, without a trailing slash. */
  endpoint: string;
  visitorId: string;
  consent: Consent;
  /** The page URL, sent as `context.url` (cut to MAX_URL_LENGTH). */
  url: string;
  signals: Signals;
  /** Defaults to DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** Builds the exact JSON body of `POST /v1/decide`. */
export function buildDecideRequest(slots: string[], options: DecideOptions): DecideRequest {
  const { visitorId, consent, url, signals } = options;
  return {
    visitorId,
    slots: slots.slice(0, MAX_SLOTS),
    consent: { personalization: consent.personalization, analytics: consent.analytics },
    context: { url: url.slice(0, MAX_URL_LENGTH), signals },
  };
}

/**
 * Asks the Worker which block each slot shows. Resolves with the valid decisions, or with an
 * empty list on a network error, a non-2xx answer, a malformed body or a timeout.
 */
export async function decide(slots: string[], options: DecideOptions, fetchImpl: typeof fetch = fetch): Promise<Decision[]> {
  if (slots.length === 0) return [];
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Racing the timer as well as aborting covers a fetch implementation that ignores the signal,
  // and bounds reading the body, not only the headers.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error("nextbest: decide timed out"));
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  });
  try {
    const answer = fetchImpl(`${options.endpoint}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(buildDecideRequest(slots, options)),
      credentials: "omit", // the visitor id travels in the body; no cookies are involved
      signal: controller.signal,
    }).then((response) => {
      if (!response.ok) throw new Error(`nextbest: decide answered ${response.status}`);
      return response.json() as Promise<unknown>;
    });
    return parseDecisions(await Promise.race([answer, timeout]));
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}
