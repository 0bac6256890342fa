/**
 * Lower-case hex of bytes: how the Worker writes hashed ids and keys (visitor keys, event ids,
 * model versions, signatures, lake batch ids). A table of the 256 byte values instead of
 * `[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")`, which allocated an array and
 * 32 strings per key: ~1 µs against ~0.17 µs a 16-byte key in Node, paid for every event of a batch.
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * @param bytes a digest, MAC or random bytes
 * @param length how many of the first bytes to write (default all); 16 bytes give 32 digits
 */
export function hex(bytes: ArrayBuffer | Uint8Array, length?: number): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const n = Math.min(length ?? view.length, view.length);
  let out = "";
  for (let i = 0; i < n; i++) out += HEX[view[i]!];
  return out;
}
