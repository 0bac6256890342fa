// The origin's body read in large pieces (worker/proxy/bytes.ts, pieceReader), in workerd.
import { describe, expect, it } from "vitest";
import { concat, pieceReader, READ_BYTES } from "../../worker/proxy/bytes.ts";
import { linkMappedBody } from "../../worker/proxy/link-body.ts";
import { MappedPages } from "../../worker/proxy/link-replay.ts";
import { encoder, links, page } from "./link-pages.ts";

/**
 * A byte stream, as a fetch's body is in workerd, that answers each BYOB request with the next
 * `answer(view size)` bytes of `bytes`; records the size of every view it was asked to fill.
 */
function byteSource(bytes: Uint8Array, answer: (room: number) => number = (room) => room) {
  const asked: number[] = [];
  let at = 0;
  let cancelled: unknown;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view as Uint8Array;
      asked.push(view.byteLength);
      if (at >= bytes.length) {
        controller.close();
        request.respond(0);
        return;
      }
      const n = Math.min(answer(view.byteLength), bytes.length - at);
      view.set(bytes.subarray(at, at + n));
      at += n;
      request.respond(n);
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  return { stream: stream as ReadableStream<Uint8Array>, asked, cancelled: () => cancelled };
}

async function readAll(read: () => Promise<ReadableStreamReadResult<Uint8Array>>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let r = await read(); !r.done; r = await read()) out.push(r.value);
  return out;
}

const drain = (stream: ReadableStream<Uint8Array>) => {
  const r = stream.getReader();
  return readAll(() => r.read());
};


describe("pieceReader", () => {
  const body = encoder.encode(page(7).repeat(Math.ceil((3 * READ_BYTES) / page(7).length))); // over 3 reads

  it("reads a byte stream in BYOB reads of 64 KiB, every byte once and in order", async () => {
    const source = byteSource(body);
    const reader = pieceReader(source.stream);
    const parts = await readAll(() => reader.read());
    expect(body.length).toBeGreaterThan(2 * READ_BYTES);
    expect(concat(parts)).toEqual(body);
    expect(source.asked.every((n) => n === READ_BYTES)).toBe(true);
    expect(parts.length).toBe(Math.ceil(body.length / READ_BYTES));
  });

  it("copies out a read that filled little of its buffer and reads into that buffer again", async () => {
    const source = byteSource(body.subarray(0, 1000), () => 10);
    const reader = pieceReader(source.stream);
    const parts = await readAll(() => reader.read());
    expect(concat(parts)).toEqual(body.subarray(0, 1000));
    expect(parts).toHaveLength(100);
    // Each piece holds only its own bytes, not a 64 KiB buffer; every read still offers 64 KiB.
    expect(parts.every((p) => p.buffer.byteLength === 10)).toBe(true);
    expect(source.asked.every((n) => n === READ_BYTES)).toBe(true);
  });

  it("a failed read rejects again with the body's error, as a default reader's does", async () => {
    let pulls = 0;
    const failing = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (pulls++ === 0) {
          (controller.byobRequest!.view as Uint8Array).set(body.subarray(0, 100));
          controller.byobRequest!.respond(100);
        } else controller.error(new Error("origin reset"));
      },
    }) as ReadableStream<Uint8Array>;
    const reader = pieceReader(failing);
    expect((await reader.read()).value).toEqual(body.subarray(0, 100));
    await expect(reader.read()).rejects.toThrow("origin reset");
    await expect(reader.read()).rejects.toThrow("origin reset");
  });

  it("reads a body the runtime made in BYOB reads too, in pieces larger than a default reader's 4 KiB", async () => {
    const parts = await readAll(((r) => () => r.read())(pieceReader(new Response(body).body!)));
    expect(concat(parts)).toEqual(body);
    expect(Math.max(...parts.map((p) => p.length))).toBeGreaterThan(16 * 1024);
  });

  it("takes a stream built in JavaScript chunk by chunk", async () => {
    const chunks = [encoder.encode("<p>"), encoder.encode("one</p>")];
    const reader = pieceReader(new ReadableStream<Uint8Array>({ start: (c) => (chunks.forEach((x) => c.enqueue(x)), c.close()) }));
    expect(await readAll(() => reader.read())).toEqual(chunks);
  });

  it("passes a cancel on to the body", async () => {
    const source = byteSource(body);
    const reader = pieceReader(source.stream);
    await reader.read();
    await reader.cancel("visitor left");
    expect(source.cancelled()).toBe("visitor left");
  });

  it.each([
    ["whole pieces", (room: number) => room],
    ["1 KiB pieces", () => 1024],
    ["uneven pieces", ((i = 0) => () => 1 + ((i++ * 7919) % 5000))()],
  ])("maps a page read from a byte stream in %s exactly as from its chunks", async (_, answer) => {
    const bytes = encoder.encode(page(11).repeat(8));
    const pages = new MappedPages();
    const fromChunks = await drain(linkMappedBody(new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) }), links, "utf-8", { pages: new MappedPages() }));
    // Twice through the same isolate's record: a fresh pass, then a replay.
    for (let i = 0; i < 2; i++) {
      const out = await drain(linkMappedBody(byteSource(bytes, answer).stream, { ...links, pageKey: "k" }, "utf-8", { pages }));
      expect(concat(out)).toEqual(concat(fromChunks));
    }
  });
});

