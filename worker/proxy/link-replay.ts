/**
 * The link mapping of a page this isolate mapped before, replayed instead of tokenized again.
 *
 * Most pages a proxy serves are the same bytes request after request (static pages, pages an
 * origin or CDN caches), and the tokenizer pass (link-stream.ts) was the largest part of a mapped
 * page's CPU (`npm run profile -- proxy` on the peer bench's 120 KB page: about 2 ms of the
 * Worker's ~7 ms). So the isolate keeps the last mapping of each page: the origin's bytes, the
 * mapped bytes, and a mark `(bytes in, bytes out)` after each piece the mapper read, where it had
 * sent everything it could. A new answer is compared with the kept bytes chunk by chunk
 * (natively); while it matches, the kept output is sent up to the last mark the matched bytes
 * reach. At the first chunk that differs — or when the origin pauses with matched bytes not yet
 * sent — a fresh mapper reads the matched bytes in the recorded pieces, then the rest, and the
 * output already sent is skipped: fed the same pieces, the mapper gives the same output at each
 * mark, and it sends only what no later byte can change, so what was sent is a prefix of the new
 * page's output. Only bytes derived from this answer's own bytes are ever sent.
 */
import { concat } from "./bytes.ts";

/** The streaming contract of the link mapper: bytes in, what can be sent out. */
export interface Mapper {
  write(chunk: Uint8Array): Uint8Array | undefined;
  end(): Uint8Array | undefined;
  /** True when bytes were read whose output is held back only because of a replay. */
  pending?(): boolean;
  /**
   * The origin paused: sends what a fresh pass would have sent by now (give or take a few bytes
   * of raw text, where the tokenizer's own output depends on the chunks; the page's output in
   * the end is the same).
   */
  flush?(): Uint8Array | undefined;
}

/** One page as last mapped: its bytes, the mapped bytes, and `in, out` pairs (one per piece read). */
interface Recording {
  input: Uint8Array;
  output: Uint8Array;
  marks: number[];
}

/**
 * The isolate's recordings, least recently used first out. Bounds: a page larger than
 * `maxPageBytes`, or read in more than `maxMarks` pieces, is not kept; all together at most
 * `maxBytes` (bytes in and out, marks and keys) in at most `maxPages` recordings.
 */
export class MappedPages {
  private readonly pages = new Map<string, Recording>();
  private bytes = 0;
  constructor(
    readonly maxBytes = 8 * 1024 * 1024,
    readonly maxPageBytes = 1024 * 1024,
    readonly maxPages = 256,
    readonly maxMarks = 4096,
  ) {}

  get(key: string): Recording | undefined {
    const page = this.pages.get(key);
    if (page) {
      this.pages.delete(key);
      this.pages.set(key, page);
    }
    return page;
  }

  put(key: string, page: Recording): void {
    this.delete(key);
    const size = sizeOf(key, page);
    if (size > this.maxBytes) return;
    for (const [old] of this.pages) {
      if (this.bytes + size <= this.maxBytes && this.pages.size < this.maxPages) break;
      this.delete(old);
    }
    this.pages.set(key, page);
    this.bytes += size;
  }

  /** Pages kept and their bytes (for tests). */
  get size(): { pages: number; bytes: number } {
    return { pages: this.pages.size, bytes: this.bytes };
  }

  private delete(key: string): void {
    const page = this.pages.get(key);
    if (!page) return;
    this.pages.delete(key);
    this.bytes -= sizeOf(key, page);
  }
}

const sizeOf = (key: string, page: Recording) => 2 * key.length + page.input.length + page.output.length + page.marks.length * 8;

/**
 * A mapper with the contract of `fresh()`'s that replays the recording of `key` while the page's
 * bytes match it, and records the page for next time when they did not (or none was kept).
 */
export function replayingMapper(pages: MappedPages, key: string, fresh: () => Mapper): Mapper {
  const kept = pages.get(key);
  let pos = 0; // bytes of the page read so far
  let sent = 0; // bytes of output sent so far
  let mark = 0; // the next mark of `kept` to reach (an index into its pairs)
  let live: Mapper | undefined; // the tokenizing mapper, once the page left `kept`
  let skip = 0; // output of `live` already sent from `kept`
  // What a recording of this page needs; dropped when the page grows beyond what is kept.
  let recording: { inputs: Uint8Array[]; outputs: Uint8Array[]; marks: number[]; out: number } | undefined;

  /** Output of `live` for the piece that ended at `pos`: recorded, less what `kept` sent already. */
  const passOn = (out: Uint8Array | undefined, piece?: Uint8Array): Uint8Array | undefined => {
    if (recording) {
      if (piece) recording.inputs.push(piece);
      if (out?.length) recording.outputs.push(out);
      recording.out += out?.length ?? 0;
      // A mark per piece read; none for `end()`: its output is only final when the page ends there.
      if (piece) recording.marks.push(pos, recording.out);
      if (pos > pages.maxPageBytes || recording.marks.length > 2 * pages.maxMarks) recording = undefined;
    }
    if (!out?.length || skip >= out.length) {
      skip -= out?.length ?? 0;
      return undefined;
    }
    const rest = skip ? out.subarray(skip) : out;
    skip = 0;
    return rest;
  };
  /** From here on the page is tokenized: the matched bytes first, in the recorded pieces. */
  const leaveKept = (): Uint8Array | undefined => {
    live = fresh();
    skip = sent;
    recording = { inputs: [], outputs: [], marks: [], out: 0 };
    const outs: Array<Uint8Array | undefined> = [];
    const matched = pos;
    let from = 0;
    pos = 0;
    for (let i = 0; from < matched; i += 2) {
      const to = i < kept!.marks.length ? Math.min(kept!.marks[i]!, matched) : matched;
      if (to === from && i < kept!.marks.length) continue;
      const piece = kept!.input.subarray(from, to);
      pos = to;
      outs.push(passOn(live.write(piece), piece));
      from = to;
    }
    return joined(outs);
  };

  /** Matched bytes past the last mark reached: a fresh pass might have sent some of them. */
  function pending(): boolean {
    return !live && pos > (mark ? kept!.marks[mark - 2]! : 0);
  }

  if (!kept) {
    live = fresh();
    recording = { inputs: [], outputs: [], marks: [], out: 0 };
  }
  return {
    write(chunk) {
      if (!live) {
        const end = pos + chunk.length;
        if (end <= kept!.input.length && crypto.subtle.timingSafeEqual(chunk, kept!.input.subarray(pos, end))) {
          pos = end;
          let reached = sent;
          while (mark < kept!.marks.length && kept!.marks[mark]! <= pos) {
            reached = kept!.marks[mark + 1]!;
            mark += 2;
          }
          const out = reached > sent ? kept!.output.subarray(sent, reached) : undefined;
          sent = Math.max(sent, reached);
          return out;
        }
        const before = leaveKept();
        pos += chunk.length;
        return joined([before, passOn(live!.write(chunk), chunk)]);
      }
      pos += chunk.length;
      return passOn(live.write(chunk), chunk);
    },
    end() {
      if (!live) {
        if (pos === kept!.input.length && mark >= kept!.marks.length) return sent < kept!.output.length ? kept!.output.subarray(sent) : undefined;
        return joined([leaveKept(), finish()]);
      }
      return finish();
    },
    pending,
    // Only then: a pause with nothing held back keeps replaying.
    flush: () => (pending() ? leaveKept() : undefined),
  };

  function finish(): Uint8Array | undefined {
    const out = passOn(live!.end());
    // Copies at their own size: a recording must not keep the origin's read buffers alive.
    if (recording) pages.put(key, { input: copied(recording.inputs), output: copied(recording.outputs), marks: recording.marks });
    return out;
  }
}

/** The non-empty parts as one array, or undefined when there is nothing. */
function joined(parts: Array<Uint8Array | undefined>): Uint8Array | undefined {
  const some = parts.filter((p): p is Uint8Array => !!p?.length);
  return some.length ? concat(some) : undefined;
}

function copied(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]!.slice() : concat(parts);
}
