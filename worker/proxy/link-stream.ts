/**
 * Maps the origin's navigation links of a streamed HTML page when most of them change (a proxy
 * prefix or an origin base path): one pass of htmlparser2's tokenizer over the page, each link's
 * value replaced where it stands, every other byte passed on as the origin sent it, in the
 * origin's own chunks.
 *
 * Why not an HTMLRewriter handler per link (as for the few absolute links without a prefix,
 * rewrite.ts): workerd flushes its output after every handler call (cloudflare/workerd#3776), so
 * the peer bench's 120 KB page of 284 links left the Worker as ~640 chunks, each crossing every
 * hop to the visitor (`npm run profile -- proxy 8` on that page: 17.4–17.8 ms of CPU per page
 * with a handler per link, 14.1–15.7 ms with this pass, the same session).
 *
 * The tokenizer (htmlparser2 12, which already ships with sanitize-html) knows HTML's raw-text
 * elements (`script`, `style`, `title`, `textarea`, `xmp`, `iframe`, `noembed`, `noframes`,
 * `plaintext`), comments and CDATA, so a link-like string inside them is left alone, as
 * HTMLRewriter leaves it. The tokenizer reads the page as one character per byte (decoded as
 * windows-1252, which keeps ASCII and every offset) while the bytes sent are the origin's, so any
 * encoding that keeps ASCII as ASCII passes through byte for byte.
 */
import { QuoteType, Tokenizer } from "htmlparser2";
import type { LinkRewrite } from "./rewrite.ts";

/**
 * A tag held back longer than this (an unclosed quote, say) is sent unmapped rather than keeping
 * the rest of the page waiting in memory.
 */
const MAX_HELD = 256 * 1024;

/** The URL attribute of each navigation tag (rewrite.ts maps the same ones). */
const URL_ATTRIBUTE: Readonly<Record<string, string>> = { a: "href", area: "href", form: "action" };

/** One link value to replace: absolute offsets in the page, `[start, end)`. */
interface Edit {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * The origin's `body` with each `<a href>`, `<area href>` and `<form action>` value starting with `/`
 * or with `links.origin` through `links.map` (the first such attribute of a tag, as browsers read
 * it). Values are compared and mapped as written (entities not decoded), like HTMLRewriter's
 * `getAttribute`; a mapped value is written back in the same quotes, escaped for them.
 */
export function linkMappedBody(body: ReadableStream<Uint8Array>, links: LinkRewrite): ReadableStream<Uint8Array> {
  // Read only when the visitor's side asks (backpressure reaches the origin); a chunk that ends
  // inside a navigation tag may send nothing yet, so read on until something can be sent.
  const reader = body.getReader();
  const mapper = linkMapper(links);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { value, done } = await reader.read();
        const out = done ? mapper.end() : mapper.write(value);
        if (out?.length) controller.enqueue(out);
        if (done) return controller.close();
        if (out?.length) return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The mapping itself: each chunk in, what can be sent out (a navigation tag still being read is held back). */
function linkMapper(links: LinkRewrite): { write(chunk: Uint8Array): Uint8Array | undefined; end(): Uint8Array | undefined } {
  const bytesAsText = new TextDecoder("windows-1252");
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const encoder = new TextEncoder();
  // The page from `base` on, not yet sent: its bytes, and the same as one char per byte for the
  // tokenizer (windows-1252, which keeps ASCII and offsets; values are read from the bytes).
  let held: Uint8Array = new Uint8Array(0);
  let pending = "";
  let base = 0;
  let doneUpTo = 0; // the end of the last complete token: a `<` after it may open a tag still being read
  let tagStart = -1; // the `<` of the navigation tag being read
  let attribute: string | undefined; // its URL attribute
  let found = false; // that attribute met already in this tag (only the first counts)
  let inUrl = false;
  let valueStart = -1;
  let valueEnd = -1;
  const edits: Edit[] = [];
  const slice = (start: number, end: number) => pending.slice(start - base, end - base);
  const done = (end: number) => (doneUpTo = Math.max(doneUpTo, end));
  const endTag = (end: number) => {
    tagStart = -1;
    attribute = undefined;
    done(end);
  };

  const tokenizer = new Tokenizer({ decodeEntities: false }, {
    onopentagname(start, end) {
      attribute = URL_ATTRIBUTE[slice(start, end).toLowerCase()];
      found = false;
      tagStart = attribute ? start - 1 : -1;
    },
    onattribname(start, end) {
      inUrl = !!attribute && !found && slice(start, end).toLowerCase() === attribute;
      if (inUrl) found = true;
      valueStart = -1;
    },
    // A value can come in several pieces (one per chunk it spans).
    onattribdata(start, end) {
      if (inUrl && valueStart < 0) valueStart = start;
      valueEnd = end;
    },
    onattribentity() {},
    onattribend(quote) {
      if (inUrl && valueStart >= 0) {
        const end = valueEnd;
        const value = slice(valueStart, end);
        if (value.startsWith("/") || value.startsWith(links.origin)) {
          // The value as the page wrote it: UTF-8 beyond ASCII, or left as it is (what it would
          // mean in another charset is not this stream's guess).
          const url = ASCII.test(value) ? value : utf8Text(utf8, held.subarray(valueStart - base, end - base));
          const mapped = url === undefined ? url : links.map(url);
          if (mapped !== url) edits.push({ start: valueStart, end, bytes: utf8Bytes(encoder, quoted(mapped!, quote)) });
        }
      }
      inUrl = false;
    },
    onopentagend: (end) => endTag(end + 1),
    onselfclosingtag: (end) => endTag(end + 1),
    onclosetag: (_start, end) => done(end + 1),
    ontext: (_start, end) => done(end),
    ontextentity: (_cp, end) => done(end),
    oncomment: (_start, end) => done(end),
    oncdata: (_start, end) => done(end),
    ondeclaration: (_start, end) => done(end),
    onprocessinginstruction: (_start, end) => done(end),
    onend() {},
  });

  /** Sends the page up to `end` (absolute): the origin's bytes, with the edits inside applied. */
  function send(end: number): Uint8Array | undefined {
    if (end <= base) return undefined;
    const parts: Uint8Array[] = [];
    let at = base;
    let used = 0;
    for (; used < edits.length && edits[used]!.end <= end; used++) {
      const edit = edits[used]!;
      parts.push(held.subarray(at - base, edit.start - base), edit.bytes);
      at = edit.end;
    }
    edits.splice(0, used);
    parts.push(held.subarray(at - base, end - base));
    held = held.subarray(end - base);
    pending = pending.slice(end - base);
    base = end;
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  return {
    write(chunk) {
      const text = bytesAsText.decode(chunk, { stream: true });
      held = held.length ? concat([held, chunk]) : chunk;
      pending += text;
      tokenizer.write(text);
      const end = base + pending.length;
      // Hold back a navigation tag still being read (its value may change), or a `<` the
      // tokenizer has not finished (it may open one); send the rest now.
      const lt = pending.lastIndexOf("<") + base;
      let hold = tagStart >= 0 ? tagStart : lt >= base && lt >= doneUpTo ? lt : end;
      if (end - hold > MAX_HELD) {
        tagStart = -1;
        attribute = undefined;
        inUrl = false;
        hold = end;
      }
      return send(hold);
    },
    end() {
      tokenizer.end();
      return send(base + pending.length);
    },
  };
}

/** The mapped value as it may stand in its quotes (or in new double quotes when it had none). */
function quoted(value: string, quote: QuoteType): string {
  if (quote === QuoteType.Double) return value.replaceAll('"', "&quot;");
  if (quote === QuoteType.Single) return value.replaceAll("'", "&#39;");
  return /[\s"'=<>`]/.test(value) ? `"${value.replaceAll('"', "&quot;")}"` : value;
}

const ASCII = /^[\x00-\x7f]*$/;

/** UTF-8 of `text`; ASCII without a call into the runtime (most mapped links are ASCII). */
function utf8Bytes(encoder: TextEncoder, text: string): Uint8Array {
  if (!ASCII.test(text)) return encoder.encode(text);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function utf8Text(decoder: TextDecoder, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
