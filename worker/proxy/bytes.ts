/** Byte buffers of the streamed page (link-stream.ts, link-replay.ts). */

/**
 * The bytes not yet sent, appended chunk by chunk into a buffer that doubles when full, so a tag
 * held over many small chunks is copied a few times in all rather than once per chunk.
 */
export class HeldBytes {
  private buffer = new Uint8Array(0);
  private start = 0;
  private length = 0;
  append(chunk: Uint8Array): void {
    if (this.start + this.length + chunk.length > this.buffer.length) {
      // A new buffer, not a compaction in place: what was sent may still be read from the old one.
      const next = new Uint8Array(Math.max(2 * (this.length + chunk.length), 16 * 1024));
      next.set(this.buffer.subarray(this.start, this.start + this.length));
      this.buffer = next;
      this.start = 0;
    }
    this.buffer.set(chunk, this.start + this.length);
    this.length += chunk.length;
  }
  /** Bytes `[from, to)` of what is held, without copying. */
  range(from: number, to: number): Uint8Array {
    return this.buffer.subarray(this.start + from, this.start + to);
  }
  drop(count: number): void {
    this.start += count;
    this.length -= count;
  }
}

/** The parts one after the other in one new array (the part itself when there is one). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
