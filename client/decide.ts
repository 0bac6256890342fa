// The decide call: one POST /v1/decide for all slots of the page, with a hard timeout. It never
// throws and never returns a malformed decision, so a failure simply leaves the default content.
import type { Consent, DecideRequest, Decision, Signals } from "./types.ts";
import { pageUrl } from "../worker/decide/page-url.ts";

/** After this many milliseconds the page keeps its default content. */
export const DEFAULT_TIMEOUT_MS = 600;
/** The most slots one request asks for. */
export const MAX_SLOTS = 10;

/** The longest page URL sent; the Worker refuses longer ones. */
export const MAX_URL_LENGTH = 2048;

/**
 * The slot names the Worker accepts. A request with one bad name would be refused as a whole,
 * so badly named slots are skipped (and keep their default content) instead.
 */
export const SLOT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Slot elements no decide has handled yet (the client marks them with `data-nb-state`). */
export const UNDECIDED_SLOT = "[data-nb-slot]:not([data-nb-state]):not([data-nb-source=edge])";

/**
 * The slot elements a decide fills: every `[data-nb-slot]` but those the edge already filled in
 * the HTML (proxy mode), which are not decided a second time; with `undecidedOnly`, only slots
 * no decide has handled yet (new ones in a single-page app).
 */
export function findSlots(root: ParentNode = document, undecidedOnly = false): Element[] {
  return [...root.querySelectorAll(undecidedOnly ? UNDECIDED_SLOT : "[data-nb-slot]:not([data-nb-source=edge])")];
}

/** The unique valid slot names of `slots`, in document order, at most MAX_SLOTS. */
export function slotNames(slots: Element[]): string[] {
  const names = new Set<string>();
  for (const element of slots) {
    const name = element.getAttribute("data-nb-slot")?.trim() ?? "";
    if (SLOT_NAME.test(name) && names.size < MAX_SLOTS) names.add(name);
  }
  return [...names];
}

/** The unique valid `data-nb-slot` names under `root` that a decide asks for. */
export function findSlotNames(root: ParentNode = document): string[] {
  return slotNames(findSlots(root));
}

/** Keeps the decisions that have every field rendering relies on (slot, decision id, block id and HTML). */
export function parseDecisions(body: unknown): Decision[] {
  const decisions = (body as { decisions?: unknown } | null)?.decisions;
  if (!Array.isArray(decisions)) return [];
  return decisions.filter((d: Decision | null): d is Decision =>
    typeof d?.slot === "string" &&
    typeof d.decisionId === "string" &&
    typeof d.block?.id === "string" &&
    typeof d.block.html === "string",
  );
}

/** What a decide request needs besides the slot names. */
export interface DecideOptions {
  /** Origin (or base URL) of the nextbest Worker, without a trailing slash. */
  endpoint: string;
  visitorId: string;
  consent: Consent;
  /**
   * The page URL, sent as `context.url` without its fragment and with only `utm_*` and
   * `urlParams` query parameters (worker/decide/page-url.ts), cut to MAX_URL_LENGTH.
   */
  url: string;
  urlParams?: string[];
  signals: Signals;
  /** Defaults to DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * Asks the Worker which block each slot shows. Resolves with the valid decisions, or with an
 * empty list on a network error, a non-2xx answer, a malformed body or a timeout.
 */
export async function decide(slots: string[], options: DecideOptions, fetchImpl: typeof fetch = fetch): Promise<Decision[]> {
  if (slots.length === 0) return [];
  const controller = new AbortController();
  // Racing the timer as well as aborting covers a fetch implementation that ignores the signal,
  // and bounds reading the body, not only the headers. A timeout, like any failure, is no answer.
  // (Once the answer is in, the timer's late abort and resolve change nothing.)
  const timeout = new Promise<null>((resolve) =>
    setTimeout(() => {
      controller.abort();
      resolve(null);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  );
  try {
    const answer = fetchImpl(`${options.endpoint}/v1/decide`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        visitorId: options.visitorId,
        slots, // at most MAX_SLOTS: slotNames stops there
        consent: options.consent,
        context: { url: pageUrl(options.url, options.urlParams).slice(0, MAX_URL_LENGTH), signals: options.signals },
      } satisfies DecideRequest),
      credentials: "omit", // the visitor id travels in the body; no cookies are involved
      signal: controller.signal,
    }).then((response) => (response.ok ? (response.json() as Promise<unknown>) : null));
    return parseDecisions(await Promise.race([answer, timeout]));
  } catch {
    return [];
  }
}
