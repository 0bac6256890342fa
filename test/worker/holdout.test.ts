import { describe, expect, it } from "vitest";
import { isHeldOut } from "../../worker/holdout/assign.ts";
import { murmur3, unitHash } from "../../worker/holdout/hash.ts";

describe("holdout assignment", () => {
  it.each([
    // Published MurmurHash3 x86_32 reference values.
    { text: "", seed: 0, hash: 0 },
    { text: "", seed: 1, hash: 0x514e28b7 },
    { text: "test", seed: 0, hash: 0xba6bd213 },
    { text: "Hello, world!", seed: 1234, hash: 0xfaf6cdb3 },
    { text: "The quick brown fox jumps over the lazy dog", seed: 0, hash: 0x2e4ff723 },
  ])("murmur3($text, $seed) is the reference value", ({ text, seed, hash }) => {
    expect(murmur3(text, seed)).toBe(hash);
  });

  it("is deterministic per visitor", () => {
    const config = { rate: 0.05, salt: "s" };
    for (let i = 0; i < 1000; i++) expect(isHeldOut(`v-${i}`, config)).toBe(isHeldOut(`v-${i}`, config));
  });

  it.each([0.05, 0.1, 0.5])("holds out %s of 20k visitors within ±1 point", (rate) => {
    let held = 0;
    for (let i = 0; i < 20_000; i++) if (isHeldOut(`visitor-${i}`, { rate, salt: "nextbest-ucg-v1" })) held++;
    expect(Math.abs(held / 20_000 - rate)).toBeLessThan(0.01);
  });

  it("reshuffles with the salt and holds out nobody at rate 0", () => {
    expect(unitHash("a", "v")).not.toBe(unitHash("b", "v"));
    expect(isHeldOut("v", { rate: 0, salt: "a" })).toBe(false);
  });
});
