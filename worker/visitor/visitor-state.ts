import { DurableObject } from "cloudflare:workers";

/**
 * Per-visitor state (one Durable Object per visitor, named by `visitorKey(visitorId)`):
 * exposures for frequency caps and the consent mirror. Nothing is written here without the
 * visitor's personalisation consent.
 */
export class VisitorState extends DurableObject<Env> {
  /** Deletes everything stored for this visitor; returns how many records were removed. */
  async erase(): Promise<{ records: number }> {
    const records = (await this.ctx.storage.list()).size;
    await this.ctx.storage.deleteAll();
    return { records };
  }
}
