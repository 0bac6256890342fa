/**
 * The link mapping of a page this isolate mapped before, replayed instead of tokenized again.
 *
 * Most pages a proxy serves are the same bytes request after request (static pages, pages an
 * origin or CDN caches), and the tokenizer pass (link-stream.ts) is the largest part of a mapped
 * page's CPU (`npm run profile -- proxy` on the peer bench's 120 KB page: about 1.5 ms of the
 * Worker's ~7 ms). So the isolate keeps the last mapping of each page: the origin's bytes, the
 * mapped bytes, and marks `(bytes in, bytes out)` where the mapper had sent everything before.
 * A new answer is compared with the kept bytes chunk by chunk (natively); while it matches, the
 * kept output is sent up to the last mark the matched bytes reach. At the first chunk that
 * differs, a fresh mapper reads the matched bytes and the rest, and the bytes already sent are
 * skipped from its output: the mapper sends only what no later byte can change (its tests check
 * the same output at every split point), so what was sent is a prefix of the new page's output.
 * A page that differs every time costs one comparison more than no cache.
 */
import { concat } from "./bytes.ts";

/** The streaming contract of the link mapper: bytes in, what can be sent out. */
export interface Mapper {
  write(chunk: Uint8Array): Uint8Array | undefined;
  end(): Uint8Array | undefined;
}

/** One page as last mapped: its bytes, the mapped bytes, and `[in, out]` pairs of send points. */
interface Recording {
  input: Uint8Array;
  output: Uint8Array;
  marks: number[];
}

/**
 * The isolate's recordings, least recently used first out. Bounds: a page larger than
 * `maxPageBytes` is not kept; all together at most `maxBytes` (input plus output).
 */
export class MappedPages {
  private readonly pages = new Map<string, Recording>();
  private bytes = 0;
  constructor(
    readonly maxBytes = 8 * 1024 * 1024,
    readonly maxPageBytes = 1024 * 1024,
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
    const size = sizeOf(page);
    if (size > this.maxBytes) return;
    for (const [old] of this.pages) {
      if (this.bytes + size <= this.maxBytes) break;
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
    this.bytes -= sizeOf(page);
  }
}

const sizeOf = (page: Recording) => page.input.length + page.output.length + page.marks.length * 8;

/**
 * A mapper with the contract of `fresh()`'s that replays the recording of `key` while the page's
 * bytes match it, and records the page for next time when they did not (or none was kept).
 */
export function replayingMapper(pages: MappedPages, key: string, fresh: () => Mapper): Mapper {
  const kept = pages.get(key);
  let pos = 0; // bytes of the page read so far
  let sent = 0; // bytes of output sent so far
  let mark = 0; // the next mark of `kept` to reach
  let live: Mapper | undefined; // the tokenizing mapper, once the page differs from `kept`
  let skip = 0; // output of `live` already sent from `kept`
  // What a recording of this page needs; dropped when the page grows beyond what is kept.
  let recording: { inputs: Uint8Array[]; outputs: Uint8Array[]; marks: number[]; out: number } | undefined;

  const fromKept = (end: number) => {
    const out = end > sent ? kept!.output.subarray(sent, end) : undefined;
    sent = Math.max(sent, end);
    return out;
  };
  /** Output of `live`, recorded, less what was sent from `kept` already. */
  const passOn = (out: Uint8Array | undefined): Uint8Array | undefined => {
    if (recording) {
      if (out?.length) recording.outputs.push(out);
      recording.out += out?.length ?? 0;
      recording.marks.push(pos, recording.out);
      if (pos > pages.maxPageBytes) recording = undefined;
    }
    if (!out?.length || skip >= out.length) {
      skip -= out?.length ?? 0;
      return undefined;
    }
    const rest = skip ? out.subarray(skip) : out;
    skip = 0;
    return rest;
  };
  /** From here on the page is tokenized: the bytes matched so far first, their output skipped. */
  const diverge = (): Uint8Array | undefined => {
    live = fresh();
    skip = sent;
    recording = { inputs: [], outputs: [], marks: [], out: 0 };
    if (pos === 0) return undefined;
    const before = kept!.input.subarray(0, pos);
    recording.inputs.push(before);
    return passOn(live.write(before));
  };

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
          return fromKept(reached);
        }
        const before = diverge();
        recording?.inputs.push(chunk);
        pos = end;
        return joined([before, passOn(live!.write(chunk))]);
      }
      recording?.inputs.push(chunk);
      pos += chunk.length;
      return passOn(live.write(chunk));
    },
    end() {
      if (!live) {
        if (pos === kept!.input.length) return fromKept(kept!.output.length);
        const before = diverge();
        return joined([before, finish()]);
      }
      return finish();
    },
  };

  function finish(): Uint8Array | undefined {
    const out = passOn(live!.end());
    if (recording) {
      pages.put(key, { input: concat(recording.inputs), output: concat(recording.outputs), marks: recording.marks });
    }
    return out;
  }
}

/** The non-empty parts as one array, or undefined when there is nothing. */
function joined(parts: Array<Uint8Array | undefined>): Uint8Array | undefined {
  const some = parts.filter((p): p is Uint8Array => !!p?.length);
  return some.length ? concat(some) : undefined;
}
