import { DurableObject } from "cloudflare:workers";

/**
 * Per-visitor state (one Durable Object per visitor): exposures for frequency caps and the
 * consent mirror. Nothing is written here without the visitor's personalisation consent.
 */
export class VisitorState extends DurableObject<Env> {}
