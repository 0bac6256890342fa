import { z } from "zod";

/** Channels an action can use. `web` and `in_app` are shown on the customer's next visit. */
export const CHANNELS = ["web", "email", "push", "sms", "in_app", "ads_audience", "sales_task"] as const;
export type Channel = (typeof CHANNELS)[number];
export const channelSchema = z.enum(CHANNELS);
