/**
 * The log queue's message bodies, validated with zod by the producer (before sending) and by the
 * consumer (before writing): one shape, versioned by `v`, so a message from an older or newer
 * Worker that does not fit goes to the dead-letter queue instead of being half written.
 *
 *   { v: 1, kind: "decisions", records: AuditRecord[] }   (worker/audit/record.ts)
 *   { v: 1, kind: "events",    records: StoredEvent[] }   (worker/events/schema.ts)
 */
import { z } from "zod";
import { auditRecordSchema, type AuditRecord } from "../audit/record.ts";
import { EVENT_TYPES, type StoredEvent } from "../events/schema.ts";

/** Version of the message bodies. */
export const LOG_MESSAGE_VERSION = 1;

/**
 * Largest JSON body of one message, bytes. Cloudflare Queues refuses messages over 128 KB
 * (https://developers.cloudflare.com/queues/platform/limits/); the margin covers the envelope
 * the platform adds.
 */
export const MAX_MESSAGE_BYTES = 120_000;

/** An event as stored (the consumer's view of worker/events/schema.ts `StoredEvent`). */
export const storedEventSchema = z.object({
  id: z.string().min(1).max(128),
  time: z.number().int().nonnegative(),
  type: z.enum(EVENT_TYPES),
  name: z.string().max(64).nullable(),
  decisionId: z.string().max(128).nullable(),
  visitorKey: z.string().regex(/^[0-9a-f]{32}$/, "a visitorKey(), not a raw visitor id"),
  blockId: z.string().max(64).nullable(),
  slot: z.string().max(64).nullable(),
  value: z.number().finite().nullable(),
  currency: z.string().max(3).nullable(),
}) satisfies z.ZodType<StoredEvent>;

/** One message of the log queue. */
export const logMessageSchema = z.discriminatedUnion("kind", [
  z.object({ v: z.literal(LOG_MESSAGE_VERSION), kind: z.literal("decisions"), records: z.array(auditRecordSchema).min(1) }),
  z.object({ v: z.literal(LOG_MESSAGE_VERSION), kind: z.literal("events"), records: z.array(storedEventSchema).min(1) }),
]);

export type LogMessage = { v: 1; kind: "decisions"; records: AuditRecord[] } | { v: 1; kind: "events"; records: StoredEvent[] };
export type LogKind = LogMessage["kind"];

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/** Messages of one kind, each under `maxBytes` of JSON, plus the records too big for any message. */
export interface Split<R> {
  messages: { v: 1; kind: LogKind; records: R[] }[];
  /** JSON size of each message, bytes (same order), measured while packing. */
  sizes: number[];
  /** Records that alone exceed `maxBytes`: they cannot be queued (counted as lost). */
  oversized: R[];
}

/**
 * Packs records into as few messages as fit, in order. Sizes are measured on the JSON the queue
 * carries (UTF-8), so the limit holds for any text in the records.
 */
export function splitIntoMessages<R>(kind: LogKind, records: R[], maxBytes = MAX_MESSAGE_BYTES): Split<R> {
  const envelope = bytes({ v: LOG_MESSAGE_VERSION, kind, records: [] });
  const messages: Split<R>["messages"] = [];
  const sizes: number[] = [];
  const oversized: R[] = [];
  let current: R[] = [];
  let size = envelope;
  for (const record of records) {
    const n = bytes(record) + 1; // the comma between records
    if (envelope + n > maxBytes) {
      oversized.push(record);
      continue;
    }
    if (size + n > maxBytes && current.length) {
      messages.push({ v: LOG_MESSAGE_VERSION, kind, records: current });
      sizes.push(size);
      current = [];
      size = envelope;
    }
    current.push(record);
    size += n;
  }
  if (current.length) {
    messages.push({ v: LOG_MESSAGE_VERSION, kind, records: current });
    sizes.push(size);
  }
  return { messages, sizes, oversized };
}

/** Byte size of a message body as JSON (what Queues counts against its limits). */
export const messageBytes = bytes;
