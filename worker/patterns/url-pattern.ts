/**
 * URL path patterns from configuration (a block's `urlPatterns` in the catalog, proxy mode's
 * PROXY_PERSONALIZE / PROXY_PASS_THROUGH), matched in time linear in the path.
 *
 * The syntax is the safe part of URLPattern's pathname syntax (https://urlpattern.spec.whatwg.org/):
 * literal text, `*` (any characters, `/` included: URLPattern's full wildcard) and `:name` (one
 * path segment: one or more characters other than `/`), with `\` escaping a special character.
 * Refused: custom regular-expression groups `(...)`, `{...}` groups and the modifiers `?` `+` `*`
 * after a group or a name. URLPattern compiles a pattern into a backtracking regular expression,
 * so `/((?:a|aa)*)*b` or `/*\/*\/*\/*\/checkout` against a long path could spend seconds to
 * minutes of CPU in one decide (issue 12). Here a pattern becomes an RE2 expression run by re2js,
 * RE2's automaton-based engine (https://github.com/google/re2/wiki/WhyRE2): matching time is
 * linear in the path whatever the pattern, and the path itself is capped (MAX_MATCHED_PATH).
 */
import { RE2JS } from "re2js";

/** Longest pattern accepted (characters), as the catalog schema allows. */
export const MAX_PATTERN_LENGTH = 200;

/**
 * Longest path (characters, percent-encoded as in `URL.pathname`) a pattern is matched against.
 * A longer page path matches no pattern: a block restricted by URL is not shown there.
 */
export const MAX_MATCHED_PATH = 1024;

/** Characters allowed as literal text (RFC 3986 path characters), plus the pattern syntax. */
const LITERAL = /^[A-Za-z0-9\-._~!$&'(),;=@/%]$/;
const NAME_START = /^[A-Za-z_$]$/;
const NAME_PART = /^[A-Za-z0-9_$]$/;
const ESCAPABLE = new Set(["\\", "*", ":", "(", ")", "{", "}", "?", "+"]);

type Compiled = { ok: true; source: string } | { ok: false; problem: string };

/** Translates a pattern into an anchored RE2 expression, or names its first problem. */
function translate(pattern: string): Compiled {
  if (pattern.length === 0) return { ok: false, problem: "empty pattern" };
  if (pattern.length > MAX_PATTERN_LENGTH) return { ok: false, problem: `longer than ${MAX_PATTERN_LENGTH} characters` };
  if (!pattern.startsWith("/") && !pattern.startsWith("*")) return { ok: false, problem: 'a path pattern starts with "/" (or "*")' };
  let source = "";
  let afterToken = false; // a name or a wildcard just ended: a modifier would follow it
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "(" || ch === ")") {
      return { ok: false, problem: `custom regular-expression groups "(...)" are not allowed (at ${i}); use * or :name` };
    }
    if (ch === "{" || ch === "}") return { ok: false, problem: `groups "{...}" are not supported (at ${i}); list each alternative as its own pattern` };
    if (ch === "?" || ch === "+" || (ch === "*" && afterToken)) {
      return { ok: false, problem: `modifier "${ch}" is not supported (at ${i}); list each alternative as its own pattern` };
    }
    afterToken = false;
    if (ch === "\\") {
      const next = pattern[i + 1];
      if (next === undefined || !ESCAPABLE.has(next)) return { ok: false, problem: `"\\" escapes only one of ${[...ESCAPABLE].join(" ")} (at ${i})` };
      source += `\\${next}`;
      i++;
    } else if (ch === "*") {
      source += ".*";
      afterToken = true;
    } else if (ch === ":") {
      let j = i + 1;
      if (!NAME_START.test(pattern[j] ?? "")) return { ok: false, problem: `":" starts a segment name such as :id (at ${i}); escape a literal colon as \\:` };
      while (j < pattern.length && NAME_PART.test(pattern[j]!)) j++;
      source += "[^/]+";
      afterToken = true;
      i = j - 1;
    } else if (LITERAL.test(ch)) {
      source += /[A-Za-z0-9/_\-~@%,;=&'!]/.test(ch) ? ch : `\\${ch}`;
    } else {
      return { ok: false, problem: `character ${JSON.stringify(ch)} (at ${i}) must be percent-encoded, as it is in a URL path` };
    }
  }
  return { ok: true, source: `^${source}$` };
}

/** The problem with a pattern (for a 422 at save time), or undefined when it is accepted. */
export function urlPatternProblem(pattern: string): string | undefined {
  const compiled = translate(pattern);
  return compiled.ok ? undefined : compiled.problem;
}

/** Compiled patterns by source text; cleared when it grows past this many (catalog edits). */
const CACHE_LIMIT = 2_000;
const cache = new Map<string, RE2JS | null>();

function compiled(pattern: string): RE2JS | null {
  let re = cache.get(pattern);
  if (re === undefined) {
    const t = translate(pattern);
    re = t.ok ? RE2JS.compile(t.source) : null;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/**
 * True when `pathname` (a URL's percent-encoded path) matches one of `patterns`. A refused
 * pattern (one that slipped past validation, e.g. an environment variable) matches nothing, and
 * a path longer than MAX_MATCHED_PATH matches nothing. Linear in the path per pattern.
 */
export function matchesAnyPath(pathname: string, patterns: readonly string[]): boolean {
  if (pathname.length > MAX_MATCHED_PATH) return false;
  return patterns.some((p) => matchesOne(p, pathname));
}

/**
 * Outcomes of recent (pattern, path) pairs; cleared when it grows past this many. A site's
 * traffic is concentrated on few paths and every decide checks each candidate's patterns against
 * the same page, so most checks are answered here instead of by the automaton (about 4% of a
 * 50-candidate decide's CPU under `npm run profile -- decide`). At most ~5 MB: keys are capped
 * by MAX_PATTERN_LENGTH + MAX_MATCHED_PATH.
 */
const OUTCOME_LIMIT = 4_096;
const outcomes = new Map<string, boolean>();

function matchesOne(pattern: string, pathname: string): boolean {
  const key = `${pattern}\n${pathname}`;
  let hit = outcomes.get(key);
  if (hit === undefined) {
    hit = compiled(pattern)?.matches(pathname) ?? false;
    if (outcomes.size >= OUTCOME_LIMIT) outcomes.clear();
    outcomes.set(key, hit);
  }
  return hit;
}
