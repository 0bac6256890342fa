/**
 * The origin's streamed page through the link mapping (link-stream.ts), replayed when its bytes
 * come again (link-replay.ts), in as few chunks as the origin's pace allows.
 */
import { concat, pieceReader } from "./bytes.ts";
import { MappedPages, replayingMapper } from "./link-replay.ts";
import { linkMapper } from "./link-stream.ts";
import type { LinkRewrite } from "./rewrite.ts";

/**
 * The origin's `body` with each `<a href>`, `<area href>` and `<form action>` value starting with `/`
 * or with `links.origin` through `links.map` (the first such attribute of a tag, as browsers read
 * it). Values are compared and mapped as written (entities not decoded), like HTMLRewriter's
 * `getAttribute`; a mapped value is written back in the same quotes, escaped for them.
 */
export function linkMappedBody(body: ReadableStream<Uint8Array>, links: LinkRewrite, charset = "utf-8", { gather = () => true, pages = MAPPED_PAGES }: GatherOptions = {}): ReadableStream<Uint8Array> {
  // Read only when the visitor's side asks (backpressure reaches the origin), in large pieces.
  const reader = pieceReader(body);
  const fresh = () => linkMapper(links, charset);
  const mapper = links.pageKey ? replayingMapper(pages, `${charset}\n${links.pageKey}`, fresh) : fresh();
  let reading: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  let cancelled = false;
  // Output not yet handed on (see `send`), and whether the origin's body has ended.
  let leftover: Uint8Array | undefined;
  let ended = false;
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    // Until the decision starts (`gather()` false: the head), in pieces of at most HEAD_PIECE_BYTES,
    // as the origin's body comes when nothing is mapped. Measured: a fast origin's first read
    // (the head, the first slot and far more, in one 64 KiB piece) put the client's first byte
    // 4.3–4.8 ms later than these pieces do with wrangler's relay (scripts/side-by-side.ts, the
    // peer page through `/edge`, two runs). Why is not established: read straight from the
    // rewriter in a test, the head comes before the decision either way.
    if (!gather() && bytes.length > HEAD_PIECE_BYTES) {
      controller.enqueue(bytes.subarray(0, HEAD_PIECE_BYTES));
      leftover = bytes.subarray(HEAD_PIECE_BYTES);
    } else controller.enqueue(bytes);
  };
  return new ReadableStream<Uint8Array>({
    // What the origin has already delivered leaves as one chunk (up to 64 KiB): each chunk costs
    // a write in the rewriter after this and a relay at every hop to the visitor, and the origin's
    // body may arrive in many small reads. While something could be sent (output gathered, or bytes a
    // replay holds back until its next mark), the origin is waited for one turn of the event loop
    // (a 0 ms timer) and then that is sent: a pausing origin's bytes are not held. While
    // `gather()` is false, each output goes at once.
    async pull(controller) {
      if (leftover) {
        const rest = leftover;
        leftover = undefined;
        send(controller, rest);
        if (!leftover && ended) controller.close();
        return;
      }
      const parts: Uint8Array[] = [];
      const limit = gather() ? COALESCE_BYTES : 1;
      let size = 0;
      const take = (out: Uint8Array | undefined) => {
        if (!out?.length) return;
        parts.push(out);
        size += out.length;
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      let turn: Promise<typeof TURN> | undefined;
      try {
        while (size < limit) {
          const read = reading ?? reader.read();
          reading = undefined;
          if (size > 0 || mapper.pending?.()) turn ??= new Promise((resolve) => (timer = setTimeout(() => resolve(TURN), 0)));
          const result = turn ? await Promise.race([read, turn]) : await read;
          if (result === TURN) {
            reading = read;
            turn = undefined;
            take(mapper.flush?.());
            if (size > 0) break;
            continue; // nothing can be sent yet (a tag still being read): wait for the origin
          }
          // A page cut short by the visitor leaving is not a page: nothing is mapped or recorded.
          if (result.done && cancelled) return;
          take(result.done ? mapper.end() : mapper.write(result.value));
          if (result.done) {
            ended = true;
            if (size) send(controller, concat(parts));
            if (!leftover) controller.close();
            return;
          }
        }
      } finally {
        clearTimeout(timer);
      }
      send(controller, concat(parts));
    },
    cancel: (reason) => {
      cancelled = true;
      return reader.cancel(reason);
    },
  });
}

/** How linkMappedBody sends its output. */
export interface GatherOptions {
  /** Whether chunks may be gathered now (default always); false sends each output at once. */
  gather?: () => boolean;
  /** Where mappings are recorded for replay (default the isolate's). */
  pages?: MappedPages;
}

/** Largest piece handed on before the decision starts (`send`). */
const HEAD_PIECE_BYTES = 4 * 1024;
/** Gathered output sent as one chunk once this large. */
const COALESCE_BYTES = 64 * 1024;
const TURN = Symbol("a turn of the event loop passed");
/** The isolate's recorded mappings (link-replay.ts); exported for tests. */
export const MAPPED_PAGES = new MappedPages();
