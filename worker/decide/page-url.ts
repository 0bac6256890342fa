/**
 * Page URLs keep only what a rule may need. Shared by the browser client (client/decide.ts) and
 * the Worker (decide/run.ts, for every caller: the decide API, proxy mode, any other channel), so
 * it imports nothing. The fragment never leaves the browser (it often carries tokens, e.g.
 * OAuth's `#access_token=`); query parameters are dropped except `utm_*` and the names configured
 * (PAGE_URL_PARAMS on the Worker, `data-url-params` on the script tag), since they carry emails,
 * search terms and session ids. What is left is what the audit log may keep.
 */

/** The URL without fragment or credentials and with only `utm_*` and `keep` query parameters; "" if not a URL. */
export function pageUrl(href: string, keep: readonly string[] = []): string {
  try {
    const url = new URL(href);
    url.hash = url.username = url.password = "";
    for (const name of [...url.searchParams.keys()]) if (!name.startsWith("utm_") && !keep.includes(name)) url.searchParams.delete(name);
    return url.href;
  } catch {
    return "";
  }
}

/** The names of a comma-separated list (PAGE_URL_PARAMS, `data-url-params`). */
export const paramList = (value: string | undefined): string[] => (value ? value.split(",").map((s) => s.trim()).filter(Boolean) : []);
