/**
 * Channel webhooks (`/admin/channels`): per outbound channel, the endpoint deliveries go to, the
 * name of the Worker secret that signs them, and the retry policy. Every save is a new version
 * (who, when, what) in D1; the signing secret itself lives only in Worker secrets/vars
 * (`wrangler secret put ACTIVATION_WEBHOOK_SECRET`) and no answer ever contains it.
 */
import { z } from "zod";
import { OUTBOUND_CHANNELS, type OutboundChannel } from "./types.ts";

/** Default name of the signing secret (a Worker secret). */
export const DEFAULT_SECRET_NAME = "ACTIVATION_WEBHOOK_SECRET";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A webhook URL: https, or http to a loopback host (local development and tests only). No
 * credentials in the URL (they would show in GET answers).
 */
export const webhookUrl = z
  .string()
  .max(2048)
  .url()
  .refine((s) => {
    // zod runs this refinement even when .url() already failed: a string URL cannot parse is refused here too.
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return false;
    }
    return !u.username && !u.password && (u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname)));
  }, "an https:// URL (http:// only to localhost/127.0.0.1), without user:password@");

/** Body of `PUT /admin/channels/:channel`. */
export const channelConfigSchema = z
  .object({
    url: webhookUrl,
    /** Worker secret/var holding the HMAC key: ACTIVATION_WEBHOOK_SECRET or ACTIVATION_WEBHOOK_SECRET_<SUFFIX>. */
    secretName: z.string().regex(/^ACTIVATION_WEBHOOK_SECRET(_[A-Z0-9_]{1,40})?$/, "ACTIVATION_WEBHOOK_SECRET or ACTIVATION_WEBHOOK_SECRET_<SUFFIX>").default(DEFAULT_SECRET_NAME),
    enabled: z.boolean().default(true),
    /** Attempts before an action is `failed` (first try included). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    /** Wait before retry n is retryBaseMs · 2^(n−1), ms. */
    retryBaseMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** One attempt's time limit, ms (then it counts as a network error). */
    timeoutMs: z.number().int().min(1_000).max(30_000).default(10_000),
  })
  .strict();

export type ChannelConfigInput = z.infer<typeof channelConfigSchema>;

/** A channel's current configuration as stored and answered (no secret value). */
export interface ChannelConfig extends ChannelConfigInput {
  channel: OutboundChannel;
  version: number;
  updatedBy: string;
  updatedAt: number;
}

interface Row {
  channel: OutboundChannel;
  url: string;
  secret_name: string;
  enabled: number;
  max_attempts: number;
  retry_base_ms: number;
  timeout_ms: number;
  version: number;
  updated_by: string;
  updated_at: number;
}

const fromRow = (r: Row): ChannelConfig => ({
  channel: r.channel, url: r.url, secretName: r.secret_name, enabled: r.enabled === 1, maxAttempts: r.max_attempts,
  retryBaseMs: r.retry_base_ms, timeoutMs: r.timeout_ms, version: r.version, updatedBy: r.updated_by, updatedAt: r.updated_at,
});

/** The configuration of one channel, or null when none was saved. */
export async function readChannel(db: D1Database, channel: string): Promise<ChannelConfig | null> {
  const row = await db.prepare("SELECT * FROM activation_channels WHERE channel = ?").bind(channel).first<Row>();
  return row ? fromRow(row) : null;
}

/** Every configured channel, by name. */
export async function listChannels(db: D1Database): Promise<ChannelConfig[]> {
  const { results } = await db.prepare("SELECT * FROM activation_channels ORDER BY channel").all<Row>();
  return results.map(fromRow);
}

/**
 * Saves a new version of a channel's configuration (version = previous + 1) with who and when,
 * in one transaction; a concurrent save of the same version loses on the history's primary key.
 */
export async function saveChannel(db: D1Database, channel: OutboundChannel, input: ChannelConfigInput, who: string, at: number): Promise<ChannelConfig> {
  const prev = await readChannel(db, channel);
  const next: ChannelConfig = { channel, ...input, version: (prev?.version ?? 0) + 1, updatedBy: who, updatedAt: at };
  await db.batch([
    db.prepare("INSERT INTO activation_channel_versions (channel, version, config, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)").bind(channel, next.version, JSON.stringify(input), who, at),
    db
      .prepare(
        `INSERT INTO activation_channels (channel, url, secret_name, enabled, max_attempts, retry_base_ms, timeout_ms, version, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (channel) DO UPDATE SET url = excluded.url, secret_name = excluded.secret_name, enabled = excluded.enabled,
           max_attempts = excluded.max_attempts, retry_base_ms = excluded.retry_base_ms, timeout_ms = excluded.timeout_ms,
           version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      )
      .bind(channel, input.url, input.secretName, input.enabled ? 1 : 0, input.maxAttempts, input.retryBaseMs, input.timeoutMs, next.version, who, at),
  ]);
  return next;
}

/** Saved versions of a channel, newest first. */
export async function channelVersions(db: D1Database, channel: string): Promise<Array<{ version: number; config: ChannelConfigInput; updatedBy: string; updatedAt: number }>> {
  const { results } = await db
    .prepare("SELECT version, config, updated_by, updated_at FROM activation_channel_versions WHERE channel = ? ORDER BY version DESC LIMIT 100")
    .bind(channel)
    .all<{ version: number; config: string; updated_by: string; updated_at: number }>();
  return results.map((r) => ({ version: r.version, config: JSON.parse(r.config) as ChannelConfigInput, updatedBy: r.updated_by, updatedAt: r.updated_at }));
}

/** The signing secret named by a configuration, from the Worker's secrets/vars; undefined when unset. */
export function signingSecret(env: object, name: string): string | undefined {
  const value = (env as Record<string, unknown>)[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Whether `name` is an outbound channel. */
export const isOutboundChannel = (name: string): name is OutboundChannel => (OUTBOUND_CHANNELS as readonly string[]).includes(name);
