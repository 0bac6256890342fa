/**
 * Seeded, versioned hashing for holdout assignment and exploration. Never Math.random():
 * the same (version, salt, key) always lands in the same bucket, on every isolate.
 */

/** Bumped whenever the hashing below changes, and recorded with each decision. */
export const HASH_VERSION = "murmur3-v1";

/** MurmurHash3 x86 32-bit of a UTF-8 string. */
export function murmur3(text: string, seed = 0): number {
  const bytes = new TextEncoder().encode(text);
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = bytes.length >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = blocks * 4;
  switch (bytes.length & 3) {
    case 3:
      k ^= bytes[tail + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[tail + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[tail]!;
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from (salt, key); stable across runs and machines. */
export function unitHash(salt: string, key: string): number {
  return murmur3(`${HASH_VERSION}:${salt}:${key}`) / 4294967296;
}
