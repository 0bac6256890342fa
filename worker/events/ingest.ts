/**
 * Event ingestion without HTTP: validate each event on its own, drop those without analytics
 * consent before anything is derived from them, give each an id, store, count duplicates.
 */
import { AppError, formatZodError } from "../errors/app-error.ts";
import { visitorKey } from "../visitor/key.ts";
import { eventBatchSchema, eventSchema, type ClientEvent, type StoredEvent } from "./schema.ts";
import type { EventStore } from "./store.ts";
import { hex } from "../crypto/hex.ts";

/** Why one event of a batch was refused. */
export interface Rejection {
  index: number;
  code: "invalid_event" | "no_consent";
  message: string;
}

/**
 * An event this request stored, with the personalisation consent it was sent with: the only
 * events side effects (worker/events/visitor-feedback.ts) may follow.
 */
export interface AcceptedEvent {
  event: ClientEvent;
  /** The stored id (`eventId`): the same for a resent event, so later steps can recognise it. */
  id: string;
  personalization: boolean;
}

/** The answer of `POST /v1/events`. */
export interface IngestResult {
  /** Events stored by this request. */
  accepted: number;
  /** Valid events whose id was already stored (or repeated in the batch): dropped. */
  duplicates: number;
  rejected: Rejection[];
}

/** Version of the event id derivation; part of every derived id. */
export const EVENT_ID_VERSION = "ev1";

async function sha256Hex32(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return hex(digest, 16);
}

/**
 * The stored id: scoped to the visitor so two visitors' client ids never collide. Without a
 * client `eventId` it is derived from the content, so a resent event (a retried beacon) is
 * recognised; two genuinely distinct but identical events need distinct `eventId`s. A page
 * `category` is part of the content (product views of two categories are two events); it is
 * appended only when present, so the ids of events without one are those of earlier versions.
 */
export function eventId(key: string, e: ClientEvent): Promise<string> {
  const body = e.eventId
    ? `id\n${e.eventId}`
    : `content\n${JSON.stringify([e.type, e.name ?? null, e.decisionId ?? null, e.blockId ?? null, e.slot ?? null, e.value ?? null, e.currency ?? null, ...(e.category ? [e.category] : [])])}`;
  return sha256Hex32(`${EVENT_ID_VERSION}\n${key}\n${body}`);
}

/**
 * Ingests one parsed request body. Throws `invalid_request` when the envelope is wrong or when no
 * event in the batch is valid; otherwise stores the valid, consented ones. `stored` lists the
 * events this call stored (not the answer's body: the route sends the rest).
 */
export async function ingestEvents(body: unknown, deps: { store: EventStore; now: () => number }): Promise<IngestResult & { stored: AcceptedEvent[] }> {
  const batch = eventBatchSchema.safeParse(body);
  if (!batch.success) throw new AppError("invalid_request", formatZodError(batch.error));

  const rejected: Rejection[] = [];
  const valid: { index: number; event: ClientEvent }[] = [];
  batch.data.events.forEach((raw, index) => {
    const parsed = eventSchema.safeParse(raw);
    if (parsed.success) valid.push({ index, event: parsed.data });
    else rejected.push({ index, code: "invalid_event", message: formatZodError(parsed.error, "event") });
  });
  if (valid.length === 0) {
    throw new AppError("invalid_request", `no valid event in the batch: ${rejected.slice(0, 5).map((r) => `events.${r.index}: ${r.message}`).join("; ")}`);
  }

  const time = deps.now();
  const keys = new Map<string, Promise<string>>();
  const toStore: StoredEvent[] = [];
  const candidates: AcceptedEvent[] = [];
  for (const { index, event } of valid) {
    if (!(event.consent?.analytics ?? batch.data.consent?.analytics ?? false)) {
      rejected.push({ index, code: "no_consent", message: "no analytics consent: not stored" });
      continue;
    }
    if (!keys.has(event.visitorId)) keys.set(event.visitorId, visitorKey(event.visitorId));
    const key = await keys.get(event.visitorId)!;
    const id = await eventId(key, event);
    toStore.push({
      id,
      time,
      type: event.type,
      name: event.name ?? null,
      decisionId: event.decisionId ?? null,
      visitorKey: key,
      blockId: event.blockId ?? null,
      slot: event.slot ?? null,
      value: event.value ?? null,
      currency: event.currency ?? null,
    });
    candidates.push({ event, id, personalization: (event.consent?.personalization ?? batch.data.consent?.personalization) === true });
  }
  const fresh = toStore.length ? await deps.store.insert(toStore) : [];
  // Only events stored by this request lead anywhere: a refused one (invalid, no consent) or a
  // duplicate (its effects followed the first copy) changes no state.
  const stored = candidates.filter((_, i) => fresh[i]);
  rejected.sort((a, b) => a.index - b.index);
  return { accepted: stored.length, duplicates: fresh.length - stored.length, rejected, stored };
}
