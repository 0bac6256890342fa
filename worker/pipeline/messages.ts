/**
 * The log queue's message bodies, validated with zod by the consumer (before writing): one shape,
 * versioned by `v`, so a message from an older or newer Worker that does not fit goes to the
 * dead-letter queue instead of being half written.
 *
 *   { v: 1, kind: "decisions", records: AuditRecord[] }   (worker/audit/record.ts)
 *   { v: 1, kind: "events",    records: StoredEvent[] }   (worker/events/schema.ts)
 *
 * The producer sends each body as its JSON text (`contentType: "text"`); the consumer also accepts
 * a body sent as an object (`"json"`).
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
/** Every kind, in the order an outbox sends them (worker/pipeline/outbox.ts). */
export const LOG_KINDS: readonly LogKind[] = ["decisions", "events"];

const encoder = new TextEncoder();
/** UTF-8 length of a string, bytes; ASCII (most records) is answered without encoding it. */
function utf8Bytes(text: string): number {
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).byteLength;
}
const bytes = (value: unknown) => utf8Bytes(JSON.stringify(value));

/**
 * A message ready to send: its body is the message's JSON text (sent with `contentType: "text"`,
 * read back by decodeLogBody), `count` its records, `bytes` the body's UTF-8 size.
 */
export interface PackedMessage {
  body: string;
  count: number;
  bytes: number;
}

/** Messages of one kind, each under `maxBytes` of JSON, plus the records too big for any message. */
export interface Split<R> {
  messages: PackedMessage[];
  /** Records that alone exceed `maxBytes`: they cannot be queued (counted as lost). */
  oversized: R[];
}

/** The start of a message's JSON body; the records follow, then `]}`. */
const messageHead = (kind: LogKind) => `{"v":${LOG_MESSAGE_VERSION},"kind":${JSON.stringify(kind)},"records":[`;

/** One record as JSON, with its UTF-8 size in bytes. */
export interface SerialisedRecord {
  json: string;
  bytes: number;
}

/**
 * Serialises records once each: the JSON measured is the JSON sent (an audit record of a
 * 50-candidate decide is ~5 KB, and serialising it a second time for the queue was ~5% of a
 * decide's CPU). Sizes are UTF-8 bytes, so the limit holds for any text in the records; a record
 * that alone would exceed `maxBytes` as a message is returned in `oversized`.
 */
export function serialiseRecords<R>(kind: LogKind, records: R[], maxBytes = MAX_MESSAGE_BYTES): { items: SerialisedRecord[]; oversized: R[] } {
  const envelope = messageHead(kind).length + 2; // and "]}"
  const items: SerialisedRecord[] = [];
  const oversized: R[] = [];
  for (const record of records) {
    const json = JSON.stringify(record);
    const n = utf8Bytes(json);
    if (envelope + n > maxBytes) oversized.push(record);
    else items.push({ json, bytes: n });
  }
  return { items, oversized };
}

/**
 * Packs serialised records (each under the limit; see serialiseRecords) into as few messages as
 * fit under `maxBytes`, in order.
 */
export function packMessages(kind: LogKind, items: SerialisedRecord[], maxBytes = MAX_MESSAGE_BYTES): PackedMessage[] {
  const head = messageHead(kind);
  const envelope = head.length + 2; // and "]}"
  const messages: PackedMessage[] = [];
  let current: string[] = [];
  let size = envelope; // bytes of the current message's body
  const close = () => messages.push({ body: `${head}${current.join(",")}]}`, count: current.length, bytes: size });
  for (const { json, bytes: n } of items) {
    // Each record after the first adds a comma.
    if (current.length && size + 1 + n > maxBytes) {
      close();
      current = [];
      size = envelope;
    }
    size += (current.length ? 1 : 0) + n;
    current.push(json);
  }
  if (current.length) close();
  return messages;
}

/** Packs records into as few messages as fit, in order, serialising each record exactly once. */
export function splitIntoMessages<R>(kind: LogKind, records: R[], maxBytes = MAX_MESSAGE_BYTES): Split<R> {
  const { items, oversized } = serialiseRecords(kind, records, maxBytes);
  return { messages: packMessages(kind, items, maxBytes), oversized };
}

/**
 * A log message's body as the producer meant it: JSON text (what queueLogProducer sends) parsed,
 * or an object (messages sent with `contentType: "json"`, as tests and older Workers do) as is.
 * Text that is not JSON comes back as the text itself, which the schema then refuses.
 */
export function decodeLogBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** How many records a (decoded) message body carries; 0 when it has no record list. */
export function recordCount(body: unknown): number {
  const records = (body as { records?: unknown } | null)?.records;
  return Array.isArray(records) ? records.length : 0;
}

/** A message body as text for a dead letter: text as sent, anything else as JSON. */
export function bodyText(body: unknown): string {
  return typeof body === "string" ? body : (JSON.stringify(body) ?? String(body));
}

/** Byte size of a message body as JSON (what Queues counts against its limits). */
export const messageBytes = bytes;
