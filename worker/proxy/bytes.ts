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

/** How much one read of the origin's body may take, bytes. */
export const READ_BYTES = 64 * 1024;

/** Reads of a body; `read` resolves as a default reader's does. */
export interface PieceReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * Reads `body` in pieces of up to `size` bytes: BYOB reads when it is a byte stream (a fetch's body
 * in workerd), each taking whatever the connection has delivered by then, at least a byte; its own
 * chunks otherwise. Why: a default reader takes a workerd body in reads of ~4 KiB, each a promise
 * and a chunk through the JavaScript after it, ~30 for a 120 KB page that BYOB reads take in as
 * few as two (scripts/side-by-side.ts, the Worker's CPU a proxied page 3.86 → 3.40 ms). A read
 * that filled under three quarters of its buffer is copied out and the buffer read into again:
 * a dribbling origin does not cost 64 KiB a read, and a page being recorded for replay (which
 * keeps its pieces until it ends) holds at most 4/3 of its size in buffers.
 * Source: Streams Standard, ReadableStreamBYOBReader (https://streams.spec.whatwg.org/#byob-reader-class).
 */
export function pieceReader(body: ReadableStream<Uint8Array>, size = READ_BYTES): PieceReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (a stream built in JavaScript): its chunks as they come.
    const reader = body.getReader();
    return { read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
  }
  const reader = byob;
  let spare: ArrayBuffer | undefined;
  return {
    async read() {
      // Taken before the read: the read moves the buffer even when it fails.
      const buffer = spare ?? new ArrayBuffer(size);
      spare = undefined;
      const result = await reader.read(new Uint8Array(buffer));
      const got = result.value;
      if (result.done || !got) return { done: true, value: undefined };
      if (got.byteLength >= (size * 3) / 4) return { done: false, value: got };
      // The buffer (moved to `got` by the read) is kept for the next read; the bytes are copied out.
      spare = got.buffer as ArrayBuffer;
      return { done: false, value: got.slice() };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
