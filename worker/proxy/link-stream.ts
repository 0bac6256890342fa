/**
 * Maps the origin's navigation links of a streamed HTML page when most of them change (a proxy
 * prefix or an origin base path): one pass of htmlparser2's tokenizer over the page, each link's
 * value replaced where it stands, every other byte passed on as the origin sent it (the stream
 * around it, its replay and its chunks: link-body.ts).
 *
 * Why not an HTMLRewriter handler per link (as for the few absolute links without a prefix,
 * rewrite.ts): workerd flushes its output after every handler call (cloudflare/workerd#3776), so
 * the peer bench's 120 KB page of 284 links left the Worker as ~640 chunks, each crossing every
 * hop to the visitor (`npm run profile -- proxy 8` on that page: 17.4–17.8 ms of CPU per page
 * with a handler per link, 14.1–15.7 ms with this pass, the same session).
 *
 * The tokenizer (htmlparser2 12, which already ships with sanitize-html) knows HTML's raw-text
 * elements (`script`, `style`, `title`, `textarea`, `xmp`, `iframe`, `noembed`, `noframes`,
 * `plaintext`; not inside SVG and MathML, which this stream tracks for it), comments and CDATA,
 * so a link-like string inside them is left alone, as HTMLRewriter leaves it. Where it parses
 * differently from a browser (a reviewer's fuzzing against lol-html and Chromium): `<![CDATA[`
 * outside foreign content runs to `]]>`, `<noscript>` is markup, a script's `<!--` escape is not
 * followed. The tokenizer reads the page as one character per byte (decoded as
 * windows-1252, which keeps ASCII and every offset) while the bytes sent are the origin's, so any
 * encoding that keeps ASCII as ASCII passes through byte for byte.
 */
import { QuoteType, Tokenizer } from "htmlparser2";
import { concat, HeldBytes } from "./bytes.ts";
import type { Mapper } from "./link-replay.ts";
import type { LinkRewrite } from "./rewrite.ts";

/**
 * A tag held back longer than this (an unclosed quote, say) is sent unmapped rather than keeping
 * the rest of the page waiting in memory.
 */
const MAX_HELD = 256 * 1024;

/** The URL attribute of each navigation tag (rewrite.ts maps the same ones). */
const URL_ATTRIBUTE: ReadonlyMap<string, string> = new Map([
  ["a", "href"],
  ["area", "href"],
  ["form", "action"],
]);

/** One link value to replace: absolute offsets in the page, `[start, end)`. */
interface Edit {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/** The mapping itself: each chunk in, what can be sent out (a navigation tag still being read is held back); exported for tests. */
export function linkMapper(links: LinkRewrite, charset: string): Mapper {
  const bytesAsText = new TextDecoder("windows-1252");
  const pageText = valueDecoder(charset);
  const utf8Page = pageText.encoding === "utf-8";
  const encoder = new TextEncoder();
  // The page from `base` on, not yet sent: its bytes, and the same as one char per byte for the
  // tokenizer (windows-1252, which keeps ASCII and offsets; values are read from the bytes).
  const held = new HeldBytes();
  let pending = "";
  let base = 0;
  let doneUpTo = 0; // the end of the last complete token: a `<` after it may open a tag still being read
  let holdFrom = -1; // the first `<` after doneUpTo, once looked for
  let tagStart = -1; // the `<` of the navigation tag being read
  let tag = ""; // the name of the tag being read
  let attribute: string | undefined; // its URL attribute
  let found = false; // that attribute met already in this tag (only the first counts)
  let inUrl = false;
  let valueStart = -1;
  let valueEnd = -1;
  const edits: Edit[] = [];
  const foreign = new ForeignContext();
  // A name whose start was already sent (a tag begun in a token the tokenizer had not finished)
  // reads as "": never a navigation tag, and the stream never edits what it has sent.
  const slice = (start: number, end: number) => (start < base ? "" : pending.slice(start - base, end - base));
  const done = (end: number) => (doneUpTo = Math.max(doneUpTo, end));

  /** The bytes that replace a mapped value, or undefined to leave it as written. */
  function replacement(value: string, bytes: Uint8Array, quote: QuoteType): Uint8Array | undefined {
    const ascii = ASCII.test(value);
    const url = ascii ? value : decodeOrUndefined(pageText, bytes);
    if (url === undefined) return undefined; // not text in the page's charset: not this stream's guess
    const mapped = links.map(url);
    if (mapped === url) return undefined;
    if (ascii || utf8Page) return utf8Bytes(encoder, quoted(mapped, quote));
    // Another charset: only a mapping that puts ASCII before the value as written (the prefix)
    // can be written back without an encoder for that charset.
    const head = mapped.slice(0, mapped.length - url.length);
    if (!mapped.endsWith(url) || !ASCII.test(head) || quoted(head, quote) !== head || quoted(mapped, quote) !== mapped) return undefined;
    return concat([utf8Bytes(encoder, head), bytes]);
  }

  const tokenizer = new Tokenizer({ decodeEntities: false }, {
    onopentagname(start, end) {
      tag = slice(start, end).toLowerCase();
      attribute = URL_ATTRIBUTE.get(tag); // a Map: `<constructor>` is not a key
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
      if (inUrl && valueStart >= base) {
        const value = slice(valueStart, valueEnd);
        if (value.startsWith("/") || value.startsWith(links.origin)) {
          const bytes = replacement(value, held.range(valueStart - base, valueEnd - base), quote);
          if (bytes) edits.push({ start: valueStart, end: valueEnd, bytes });
        }
      }
      inUrl = false;
    },
    onopentagend(end) {
      foreign.open(tag);
      tagStart = -1;
      attribute = undefined;
      done(end + 1);
    },
    onselfclosingtag(end) {
      tagStart = -1;
      attribute = undefined;
      done(end + 1);
    },
    onclosetag(start, end) {
      foreign.close(slice(start, end).toLowerCase());
      done(end + 1);
    },
    ontext: (_start, end) => done(end),
    ontextentity: (_cp, end) => done(end),
    oncomment: (_start, end) => done(end),
    oncdata: (_start, end) => done(end),
    ondeclaration: (_start, end) => done(end),
    onprocessinginstruction: (_start, end) => done(end),
    onend() {},
    // Inside SVG and MathML, `title`, `style`, `script`… are not raw text (HTML's tree builder).
    isInForeignContext: () => foreign.inForeign(),
  });

  /** Sends the page up to `end` (absolute): the origin's bytes, with the edits inside applied. */
  function send(end: number): Uint8Array | undefined {
    if (end <= base) return undefined;
    const parts: Uint8Array[] = [];
    let at = base;
    let used = 0;
    for (; used < edits.length && edits[used]!.end <= end; used++) {
      const edit = edits[used]!;
      parts.push(held.range(at - base, edit.start - base), edit.bytes);
      at = edit.end;
    }
    edits.splice(0, used);
    parts.push(held.range(at - base, end - base));
    held.drop(end - base);
    pending = pending.slice(end - base);
    base = end;
    return concat(parts);
  }

  return {
    write(chunk) {
      const text = bytesAsText.decode(chunk, { stream: true });
      held.append(chunk);
      pending += text;
      tokenizer.write(text);
      const end = base + pending.length;
      // Hold back a navigation tag still being read (its value may change), or from the first `<`
      // after the last complete token (it may open one); send the rest now. The `<` is looked for
      // once per token, so a long tag arriving in small chunks is not searched again and again.
      if (holdFrom < doneUpTo) {
        const lt = pending.indexOf("<", Math.max(doneUpTo, base) - base);
        holdFrom = lt < 0 ? -1 : lt + base;
      }
      let hold = tagStart >= 0 ? tagStart : holdFrom >= doneUpTo ? holdFrom : end;
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

/**
 * Whether the tokenizer is inside SVG or MathML (where `title`, `style`, `script`… are elements,
 * not raw text), following htmlparser2's Parser: `svg` and `math` open a foreign context; an HTML
 * integration point inside one (`foreignObject`, `desc`, `title`, MathML's text elements) opens
 * HTML again; each ends with its end tag. (The spec's breakout of foreign content by HTML start
 * tags is not followed: a page would have to be malformed for it to matter.)
 */
class ForeignContext {
  private stack: { name: string; foreign: boolean }[] = [];
  inForeign(): boolean {
    return this.stack.at(-1)?.foreign ?? false;
  }
  open(name: string): void {
    if (name === "svg" || name === "math") this.stack.push({ name, foreign: true });
    else if (this.inForeign() && INTEGRATION_POINTS.has(name)) this.stack.push({ name, foreign: false });
  }
  close(name: string): void {
    const at = this.stack.map((e) => e.name).lastIndexOf(name);
    if (at >= 0) this.stack.length = at;
  }
}

const INTEGRATION_POINTS = new Set(["foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"]);

/** A fatal decoder for link values in the page's charset (UTF-8 when it names none the runtime knows). */
function valueDecoder(charset: string): TextDecoder {
  try {
    return new TextDecoder(charset || "utf-8", { fatal: true, ignoreBOM: true });
  } catch {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  }
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

function decodeOrUndefined(decoder: TextDecoder, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
