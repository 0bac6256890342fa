// Copied unchanged below this note from the project's shared peer bench (shared/peer-bench/origin.mjs, as of
// 2026-12-02), so the README's proxy profile commands run from a clone of this repository alone.
// The peer bench itself (GrowthBook's Worker, the client, run.sh) stays in the shared folder.
// Origin for the peer benchmark: a plain node http server on loopback serving three pages.
//   /product       a typical ~120 KB product page, sent at once (content-length)
//   /product-slow  the same bytes, streamed: everything up to <body> plus the next 10 KB at once,
//                  the rest 800 ms later (chunked), like an origin that flushes its head early
//   /big           a ~3 MB page of the same structure, sent at once
// Every page has <meta name="nb:slots" content="hero"> and, right after <body>,
// <div data-nb-slot="hero">default</div>. The text is generated from a fixed seed, so the bytes
// are the same on every run. Usage: node origin.mjs PORT   (prints "origin listening PORT").
import http from 'node:http';

export const HERO = '<div data-nb-slot="hero">default</div>';

function rng(seed) { // mulberry32
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = ('trail grip cushion mesh upper outsole lug drop stack foam breathable waterproof seam ' +
  'heel toe box lace eyelet tongue collar midsole rocker stride pace mile ridge summit creek ' +
  'gravel mud rain wind fit size wide narrow true comfort support light durable recycled ' +
  'rubber weight ounce return promise colour ember slate moss dune night sky review star ' +
  'bought second pair worth every long run race weekend hike city commute').split(' ');

/** The page's HTML, padded with reviews and related products to about `target` bytes. */
export function productPage(target, seed = 42) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const sentence = (n) => { const w = Array.from({ length: n }, () => pick(WORDS)); w[0] = w[0][0].toUpperCase() + w[0].slice(1); return w.join(' ') + '.'; };
  const para = (s) => Array.from({ length: s }, () => sentence(8 + Math.floor(r() * 10))).join(' ');
  const css = Array.from({ length: 60 }, (_, i) => `.c${i}{margin:${i % 7}px ${i % 5}px;padding:${i % 3}px;color:#${(0x334455 + i * 4099).toString(16).slice(-6)}}`).join('\n');
  const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trailblazer 2 Running Shoe | Northwind Outfitters</title>
<meta name="description" content="Trailblazer 2: a light, grippy trail running shoe with a 60-day fit promise.">
<meta name="nb:slots" content="hero">
<meta name="nb:page-type" content="product">
<meta name="nb:category" content="shoes">
<link rel="canonical" href="https://shop.example/products/trailblazer-2">
<link rel="stylesheet" href="/static/site.css">
<link rel="preload" href="/static/fonts/inter.woff2" as="font" type="font/woff2" crossorigin>
<style>
${css}
</style>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Trailblazer 2","sku":"TB2-042","brand":{"@type":"Brand","name":"Northwind"},"offers":{"@type":"Offer","price":"129.00","priceCurrency":"EUR","availability":"https://schema.org/InStock"},"aggregateRating":{"@type":"AggregateRating","ratingValue":"4.6","reviewCount":"812"}}</script>
<!-- Tag manager -->
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-XXXXXXX');</script>
<!-- End tag manager -->
</head>
<body class="product-page">
${HERO}
<header class="site-header">
<a class="logo" href="/">Northwind Outfitters</a>
<nav><ul>
${['shoes', 'bags', 'jackets', 'trail', 'road', 'hiking', 'kids', 'sale', 'new', 'brands', 'stores', 'help'].map((c) => `<li><a href="/${c}.html">${c[0].toUpperCase() + c.slice(1)}</a></li>`).join('\n')}
</ul></nav>
<form class="search" action="/search" method="get" data-nb-intent="search"><input type="search" name="q" placeholder="Search"><button>Search</button></form>
<a class="cart" href="/cart">Cart (0)</a>
</header>
<main>
<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/shoes.html">Shoes</a> &rsaquo; <span>Trailblazer 2</span></nav>
<section class="product">
<div class="gallery">
${Array.from({ length: 8 }, (_, i) => `<img src="/static/img/tb2-${i}.jpg" srcset="/static/img/tb2-${i}-480.jpg 480w, /static/img/tb2-${i}-960.jpg 960w" sizes="(max-width: 600px) 480px, 960px" alt="Trailblazer 2, view ${i + 1}" width="960" height="720" loading="${i ? 'lazy' : 'eager'}">`).join('\n')}
</div>
<div class="buy">
<h1>Trailblazer 2</h1>
<p class="price">&euro;129.00</p>
<form action="/cart/add" method="post"><input type="hidden" name="sku" value="TB2-042">
<select name="size">${Array.from({ length: 14 }, (_, i) => `<option value="${36 + i / 2}">${36 + i / 2}</option>`).join('')}</select>
<button type="submit" data-nb-intent="add_to_cart">Add to cart</button></form>
</div>
<div class="description"><h2>Description</h2>
${Array.from({ length: 6 }, () => `<p>${para(5)}</p>`).join('\n')}
</div>
<table class="specs"><tbody>
${Array.from({ length: 16 }, (_, i) => `<tr><th>${pick(WORDS)} ${i}</th><td>${sentence(4)}</td></tr>`).join('\n')}
</tbody></table>
</section>
<section class="reviews"><h2>Reviews</h2>
`;
  const tail = `</section>
</main>
<!-- footer -->
<footer class="site-footer">
${Array.from({ length: 4 }, (_, col) => `<ul>${Array.from({ length: 8 }, (_, i) => `<li><a href="/info/${col}-${i}">${pick(WORDS)} ${pick(WORDS)}</a></li>`).join('')}</ul>`).join('\n')}
<p>&copy; Northwind Outfitters</p>
</footer>
<script src="/static/app.js" defer></script>
</body>
</html>
`;
  const parts = [head];
  let size = head.length + tail.length;
  let n = 0;
  while (size < target) {
    n++;
    const item = n % 5 === 0
      ? `<article class="related"><a href="/products/item-${n}"><img src="/static/img/item-${n}.jpg" alt="${pick(WORDS)} ${pick(WORDS)}" width="240" height="240" loading="lazy"><h3>${sentence(3)}</h3><p class="price">&euro;${(20 + r() * 180).toFixed(2)}</p></a></article>\n`
      : `<article class="review" id="review-${n}"><header><span class="stars" aria-label="${1 + Math.floor(r() * 5)} of 5">&#9733;&#9733;&#9733;&#9733;</span> <strong>${pick(WORDS)}_${Math.floor(r() * 1000)}</strong> <time datetime="2026-0${1 + (n % 9)}-1${n % 10}">${n % 28 + 1} days ago</time></header><p>${para(3)}</p><footer><a href="/reviews/${n}/helpful" rel="nofollow">Helpful</a></footer></article>\n`;
    parts.push(item);
    size += item.length;
  }
  parts.push(tail);
  return parts.join('');
}

export const PAGES = {
  product: Buffer.from(productPage(120 * 1024, 42)),
  big: Buffer.from(productPage(3 * 1024 * 1024, 7)),
};
export const SLOW_DELAY_MS = 800;
export const SLOW_FIRST_BODY_BYTES = 10 * 1024;

function handler(req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' };
  if (path === '/product' || path === '/big') {
    const body = PAGES[path.slice(1)];
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  } else if (path === '/product-slow') {
    const body = PAGES.product;
    const cut = body.indexOf('<body') + SLOW_FIRST_BODY_BYTES;
    res.writeHead(200, headers); // no content-length: chunked
    if (req.method === 'HEAD') return res.end();
    res.write(body.subarray(0, cut));
    const timer = setTimeout(() => res.end(body.subarray(cut)), SLOW_DELAY_MS);
    res.on('close', () => clearTimeout(timer));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 8800);
  const server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
  server.listen(port, '127.0.0.1', () => console.log(`origin listening ${port} product=${PAGES.product.length}B big=${PAGES.big.length}B`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
