// Pages and a harness for the link mapping's tests (link-stream.test.ts, link-replay.test.ts).
import { linkMappedBody } from "../../worker/proxy/link-body.ts";
import type { MappedPages } from "../../worker/proxy/link-replay.ts";
import type { LinkRewrite } from "../../worker/proxy/rewrite.ts";

export const ORIGIN = "https://origin.test";
/** As proxiedUrlMapper maps with the prefix `/edge`: root-relative gets the prefix; the origin's absolute URLs move behind the Worker. */
export const map = (u: string) => (u.startsWith(`${ORIGIN}/`) ? `http://w.test/edge${u.slice(ORIGIN.length)}` : u.startsWith("/") && !u.startsWith("//") ? `/edge${u}` : u);
export const links: LinkRewrite = { origin: ORIGIN, map, rootRelative: true };
export const encoder = new TextEncoder();

/** Runs `chunks` through the stream; the output's bytes and how many chunks it came in. */
export async function through(chunks: Uint8Array[], rewrite: LinkRewrite = links, charset?: string, pages?: MappedPages): Promise<{ bytes: Uint8Array; chunks: number }> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      chunks.forEach((c) => controller.enqueue(c));
      controller.close();
    },
  });
  const out: Uint8Array[] = [];
  const reader = linkMappedBody(source, rewrite, charset, pages ? { pages } : {}).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
  const bytes = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
  out.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  return { bytes, chunks: out.length };
}

/** A page of quoted navigation links, resources, raw text and comments, the same for a seed. */
export function page(seed: number): string {
  let s = seed;
  const next = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
  const parts = [
    () => `<a href="/p/${next(100)}?x=${next(9)}&amp;y">p</a>`,
    () => `<a class="c" href='/q/${next(100)}' data-x="${next(5)}">q</a>`,
    () => `<area href="/m${next(9)}">`,
    () => `<form action="/f/${next(9)}" method="post"><button>go</button></form>`,
    () => `<a href="${ORIGIN}/abs/${next(9)}">abs</a>`,
    () => `<a href="//cdn.test/${next(9)}">cdn</a><a href="rel/${next(9)}">rel</a>`,
    () => `<img src="/i/${next(9)}.png" alt="<a href='/no'>"><link href="/l.css" rel="stylesheet">`,
    () => `<script>var s = '<a href="/s${next(9)}">';</script>`,
    () => `<!-- <a href="/comment"> --><p>${"text ".repeat(next(20))}</p>`,
    () => `<svg viewBox="0 0 1 1"><a href="/svg/${next(9)}"><rect/></a></svg>`,
    () => `<textarea><a href="/ta"></textarea><p>é ü 中文</p>`,
  ];
  return `<!doctype html><html><head><title>t</title></head><body>${Array.from({ length: 120 }, () => parts[next(parts.length)]!()).join("\n")}</body></html>`;
}

