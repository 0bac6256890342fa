/** worker/crypto/hex.ts against Node's own hex encoding (Buffer), for every byte value and lengths. */
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { hex } from "../../worker/crypto/hex.ts";

describe("hex", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);

  it("writes every byte value as Buffer does", () => {
    expect(hex(all)).toBe(Buffer.from(all).toString("hex"));
    expect(hex(all.buffer)).toBe(Buffer.from(all).toString("hex"));
  });

  it.each([
    [0, ""],
    [1, "00"],
    [16, "000102030405060708090a0b0c0d0e0f"],
    [300, Buffer.from(all).toString("hex")],
  ])("the first %i bytes", (length, expected) => {
    expect(hex(all, length)).toBe(expected);
  });

  it("reads a view from its offset, not from the start of its buffer", () => {
    const view = all.subarray(250);
    expect(hex(view)).toBe("fafbfcfdfeff");
    expect(hex(view, 2)).toBe("fafb");
  });
});
