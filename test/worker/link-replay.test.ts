// Replaying a page's link mapping (worker/proxy/link-replay.ts) in workerd: the same bytes as a
// fresh tokenizer pass whatever the new page and its chunks, no tokenizer for a page seen before,
// the cache's bounds; and the stream's gathering of chunks (worker/proxy/link-body.ts).
import { describe, expect, it } from "vitest";
import { concat } from "../../worker/proxy/bytes.ts";
import { MappedPages, replayingMapper } from "../../worker/proxy/link-replay.ts";
import { linkMappedBody } from "../../worker/proxy/link-body.ts";
import { linkMapper } from "../../worker/proxy/link-stream.ts";
import { encoder, links, page, through } from "./link-pages.ts";

const keyed = { ...links, pageKey: "http://w.test\n/edge\nhttps://origin.test/p" };
const chunked = (bytes: Uint8Array, size: number) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
/** The page through the stream in chunks of `size`: with `pages`, replayed from them when it can. */
const mapped = async (bytes: Uint8Array, size: number, pages?: MappedPages) => [...(await through(chunked(bytes, size), pages ? keyed : links, undefined, pages)).bytes];
const BASE = encoder.encode(page(7) + page(8) + page(9));

/** Pages that differ from BASE: a byte changed, bytes inserted, the page cut short or longer. */
function variants(): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  const at = new Set<number>([0, 1, BASE.length - 1]);
  for (let i = 0; i < BASE.length; i += 397) at.add(i);
  // Inside link values and tag names, where a difference changes what is mapped.
  for (let i = BASE.indexOf(0x3c), n = 0; i >= 0 && n < 12; i = BASE.indexOf(0x3c, i + 1500), n++) at.add(i + 2);
  for (const i of at) {
    const changed = BASE.slice();
    changed[i] = changed[i] === 0x2f ? 0x61 : 0x2f; // "/" where there was none, else "a"
    out.push([`byte ${i} changed`, changed]);
    out.push([`a link inserted at ${i}`, concat([BASE.subarray(0, i), encoder.encode('<a href="/new">n</a>'), BASE.subarray(i)])]);
    out.push([`cut at ${i}`, BASE.slice(0, i)]);
  }
  out.push(["longer", concat([BASE, encoder.encode('<a href="/more">m</a>')])]);
  out.push(["empty", new Uint8Array(0)]);
  return out;
}

describe("replayingMapper", () => {
  it("gives the bytes a fresh pass gives, for the same page and for pages that differ anywhere", async () => {
    const cases = variants();
    expect(cases.length).toBeGreaterThan(100);
    const base = await mapped(BASE, 4096);
    for (const [name, bytes] of cases) {
      for (const size of [4096, 333]) {
        const pages = new MappedPages();
        await mapped(BASE, 4096, pages);
        const expected = await mapped(bytes, size);
        expect(await mapped(bytes, size, pages), `${name}, chunks of ${size}`).toEqual(expected);
        // The new page is what is kept now: replayed whole, it gives the same bytes again; and
        // the first page after it (a page cut short recorded, then the whole one) its own bytes.
        expect(await mapped(bytes, size === 4096 ? 1000 : 4096, pages), `${name} replayed`).toEqual(expected);
        expect(await mapped(BASE, size, pages), `after ${name}`).toEqual(base);
      }
    }
  });

  it("does not tokenize a page whose bytes it has mapped before, and still streams it", () => {
    const pages = new MappedPages();
    let passes = 0;
    const fresh = () => (passes++, linkMapper(links, "utf-8"));
    const run = (size: number, key = "k") => {
      const mapper = replayingMapper(pages, key, fresh);
      const outs = chunked(BASE, size).map((c) => mapper.write(c));
      return { outs, bytes: [...concat([...outs, mapper.end()].filter((o): o is Uint8Array => !!o))] };
    };
    const first = run(4096);
    expect(passes).toBe(1);
    const again = run(1000);
    expect(passes).toBe(1);
    expect(again.bytes).toEqual(first.bytes);
    // Sent as the matching bytes arrive, not at the end.
    expect(again.outs.slice(0, -1).reduce((n, o) => n + (o?.length ?? 0), 0)).toBeGreaterThan(BASE.length / 2);
    // An origin that pauses where nothing is held back (after each piece): still replayed.
    const paced = replayingMapper(pages, "k", fresh);
    for (const c of chunked(BASE, 4096)) {
      paced.write(c);
      expect(paced.pending!()).toBe(false);
      expect(paced.flush!()).toBeUndefined();
    }
    paced.end();
    expect(passes).toBe(1);
    run(4096, "another page");
    expect(passes).toBe(2);
  });

  it("a page the visitor left is not recorded, and a page recorded up to an unfinished tag is not replayed past it (review)", async () => {
    const pages = new MappedPages();
    const head = encoder.encode('<p>hi</p><a href="/x');
    const tail = encoder.encode('y">link</a>');
    // Recorded as a page that ends inside a tag, then the same bytes and more.
    await mapped(head, 4096, pages);
    const whole = concat([head, tail]);
    expect(new TextDecoder().decode(new Uint8Array(await mapped(whole, head.length, pages)))).toBe('<p>hi</p><a href="/edge/xy">link</a>');
    // Cancelled after the first chunk: nothing is recorded from the cut page.
    const other = new MappedPages();
    const source = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(encoder.encode('<a href="/a">a</a><a href="/b')) });
    const reader = linkMappedBody(source, keyed, "utf-8", { pages: other }).getReader();
    await reader.read();
    await reader.cancel();
    expect(other.size.pages).toBe(0);
  });

  it("sends what a fresh pass would when the origin pauses between the recorded marks", async () => {
    const pages = new MappedPages();
    await mapped(BASE, BASE.length, pages); // recorded from one read: one mark, at the end
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    const source = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(BASE.subarray(0, 3000));
        await paused;
        controller.enqueue(BASE.subarray(3000));
        controller.close();
      },
    });
    const reader = linkMappedBody(source, keyed, "utf-8", { pages }).getReader();
    const first = await Promise.race([reader.read(), new Promise<"held">((r) => setTimeout(() => r("held"), 200))]);
    expect(first).not.toBe("held");
    const sentBeforeThePause = (first as ReadableStreamReadResult<Uint8Array>).value!;
    expect(sentBeforeThePause.length).toBeGreaterThan(2500);
    release();
    const rest: Uint8Array[] = [sentBeforeThePause];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    expect([...concat(rest)]).toEqual(await mapped(BASE, 4096));
  });

  it("splices with the recorded pieces: a tag held past 256 KiB (sent unmapped where the chunks fall) stays consistent (review)", async () => {
    const big = encoder.encode(`<a data-big="${"x".repeat(300_000)}" href="/x">x</a>${"<p>tail</p>".repeat(2000)}`);
    const pages = new MappedPages(8 * 1024 * 1024, 1024 * 1024);
    await mapped(big, 4096, pages);
    const changed = big.slice();
    changed[changed.length - 2] = 0x71; // "p>" → "q>" in the last tag
    expect(await mapped(changed, 4096, pages)).toEqual(await mapped(changed, 4096));
  });

  it("records copies at their own size, and drops a page read in too many pieces", async () => {
    const pages = new MappedPages(8 * 1024 * 1024, 1024 * 1024, 256, 100);
    const run = (key: string, size: number) => {
      const m = replayingMapper(pages, key, () => linkMapper(links, "utf-8"));
      for (const c of chunked(BASE, size)) m.write(c);
      m.end();
    };
    run("pieces", 4096);
    const kept = pages.get("pieces")!;
    expect(kept.input.buffer.byteLength).toBe(kept.input.length);
    expect(kept.output.buffer.byteLength).toBe(kept.output.length);
    run("many pieces", 64);
    expect(pages.get("many pieces")).toBeUndefined();
  });

  it("keeps at most maxBytes, least recently used out, and no page over maxPageBytes", async () => {
    const pages = new MappedPages(3 * BASE.length + 1000, BASE.length);
    await mapped(BASE, 4096, pages);
    expect(pages.size.pages).toBe(1);
    expect(pages.size.bytes).toBeGreaterThan(2 * BASE.length);
    expect(pages.size.bytes).toBeLessThanOrEqual(3 * BASE.length + 1000);
    const other = new MappedPages(3 * BASE.length, BASE.length);
    const put = (key: string, bytes: Uint8Array) => {
      const m = replayingMapper(other, key, () => linkMapper(links, "utf-8"));
      m.write(bytes);
      m.end();
    };
    put("a", BASE.slice(0, BASE.length / 2));
    put("b", BASE.slice(0, BASE.length / 2));
    put("c", BASE.slice(0, BASE.length / 2));
    expect(other.size.bytes).toBeLessThanOrEqual(3 * BASE.length);
    expect(other.size.pages).toBe(2);
    put("big", concat([BASE, BASE]));
    expect(other.size.pages).toBe(2);
  });
});

describe("linkMappedBody's chunks", () => {
  it("sends what the origin delivered together as one chunk (up to 64 KiB)", async () => {
    const big = encoder.encode(page(3).repeat(30));
    expect(big.length).toBeGreaterThan(150_000);
    const { bytes, chunks } = await through(chunked(big, 4096));
    expect(bytes.length).toBeGreaterThan(big.length);
    expect(chunks).toBeGreaterThan(1);
    expect(chunks).toBeLessThanOrEqual(Math.ceil(bytes.length / 65536));
  });

  // While gathering is off (the head, before the decision starts) each output goes at once, in
  // pieces of at most 4 KiB: a fast origin's first read can hold the head and far more.
  it.each([
    { name: "read as it came, 4 KiB at a time", read: 4096 },
    { name: "read in 64 KiB at once", read: 65536 },
  ])("sends each output at once, in pieces of at most 4 KiB, while gathering is off: $name", async ({ read }) => {
    const pieces = (reads: Uint8Array[]) => {
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const c of reads) controller.enqueue(c);
          controller.close();
        },
      });
      return linkMappedBody(source, links, "utf-8", { gather: () => false }).getReader();
    };
    const reader = pieces(chunked(BASE, read));
    const sizes: number[] = [];
    const out: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) (sizes.push(r.value.length), out.push(r.value));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(BASE.length / 4096));
    expect(sizes.length).toBeLessThanOrEqual(2 * Math.ceil(BASE.length / read) + Math.ceil(concat(out).length / 4096));
    expect([...concat(out)]).toEqual(await mapped(BASE, 4096));
  });

});
