/**
 * One normalised path for proxy mode: the prefix check and the origin URL are both built from it,
 * so no spelling of a path (`/%65dge/`, `/edg%65/x`, `//host`, `..`, `\`, `%2F`) can be checked as
 * one path and fetched as another.
 */

/** A request path, decoded and normalised; or why it was refused. */
export type NormalisedPath =
  | {
      ok: true;
      /** Decoded segments, no empty, `.` or `..` segment. */
      segments: string[];
      /** True when the path ended with `/` (kept: `/shop/` and `/shop` are different pages). */
      trailingSlash: boolean;
    }
  | { ok: false; reason: string };

const MAX_PATH = 4096;
// `.` and `..` in any mix of literal and percent-encoded dots, as the URL Standard's
// "single-dot / double-dot URL path segment" (https://url.spec.whatwg.org/#single-dot-path-segment).
const SINGLE_DOT = /^(?:\.|%2e)$/i;
const DOUBLE_DOT = /^(?:\.|%2e){2}$/i;
// Controls (C0, DEL) have no place in a path, decoded or not.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Normalises a raw request pathname (as sent, still percent-encoded). Backslashes count as `/`
 * (the URL Standard does so for http(s)); empty segments (`//`) are merged; `.` is dropped and `..`
 * removes the previous segment. Refused: malformed percent-encoding, an encoded `/` or `\` inside a
 * segment (origins disagree on what it means), controls, `..` above the root, over 4,096 chars.
 */
export function normalisePath(rawPathname: string): NormalisedPath {
  if (rawPathname.length > MAX_PATH) return { ok: false, reason: `path longer than ${MAX_PATH} characters` };
  const parts = rawPathname.split(/[/\\]/);
  const segments: string[] = [];
  for (const part of parts) {
    if (part === "" || SINGLE_DOT.test(part)) continue;
    if (DOUBLE_DOT.test(part)) {
      if (segments.pop() === undefined) return { ok: false, reason: "path climbs above the root" };
      continue;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return { ok: false, reason: "malformed percent-encoding in path" };
    }
    if (/[/\\]/.test(decoded)) return { ok: false, reason: "encoded slash in path" };
    if (CONTROL.test(decoded)) return { ok: false, reason: "control character in path" };
    segments.push(decoded);
  }
  const last = parts[parts.length - 1] ?? "";
  const trailingSlash = segments.length > 0 && (last === "" || SINGLE_DOT.test(last) || DOUBLE_DOT.test(last));
  return { ok: true, segments, trailingSlash };
}

// RFC 3986 §3.3 pchar: unreserved / sub-delims / ":" / "@" stay literal; the rest is encoded.
const encodeSegment = (s: string) =>
  encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** The same path percent-encoded once, canonically: what the origin is asked for. */
export function encodedPath(p: { segments: string[]; trailingSlash: boolean }): string {
  return p.segments.length ? `/${p.segments.map(encodeSegment).join("/")}${p.trailingSlash ? "/" : ""}` : "/";
}

/** The segments after `prefixSegments`, or undefined when the path is not under the prefix. */
export function underPrefix(segments: string[], prefixSegments: string[]): string[] | undefined {
  if (prefixSegments.length > segments.length) return undefined;
  for (let i = 0; i < prefixSegments.length; i++) if (segments[i] !== prefixSegments[i]) return undefined;
  return segments.slice(prefixSegments.length);
}

/**
 * Whether a path that failed normalisation still names the prefix, read leniently (valid escapes
 * decoded, `\` as `/`, repeated slashes merged), so its 400 comes from the proxy, not a 404.
 */
export function looselyUnderPrefix(rawPathname: string, prefixSegments: string[]): boolean {
  if (!prefixSegments.length) return true;
  const lenient = rawPathname
    .replace(/%[0-9a-f]{2}/gi, (m) => String.fromCharCode(parseInt(m.slice(1), 16)))
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/");
  const prefix = `/${prefixSegments.join("/")}`;
  return lenient === prefix || lenient.startsWith(`${prefix}/`);
}
