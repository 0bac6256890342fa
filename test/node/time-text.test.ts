// Times in admin query strings (worker/http/query.ts parseTimeText): calendar dates that do not
// exist are refused instead of rolling over as Date.parse does (Date.parse("2026-02-30") is 2 March).
import { describe, expect, it } from "vitest";
import { parseTimeText } from "../../worker/http/query.ts";

describe("parseTimeText", () => {
  it.each([
    ["1764547200000", 1_764_547_200_000],
    ["2026-12-01", Date.UTC(2026, 11, 1)],
    ["2028-02-29", Date.UTC(2028, 1, 29)], // leap year
    ["2000-02-29T12:00:00Z", Date.UTC(2000, 1, 29, 12)], // divisible by 400: leap
    ["2026-04-30T23:59:59+02:00", Date.UTC(2026, 3, 30, 21, 59, 59)],
    ["9999-12-31T23:59:59.999Z", 253_402_300_799_999],
    ["253402300799999", 253_402_300_799_999],
    ["2026-03-01T10:00", Date.parse("2026-03-01T10:00")], // a datetime-local value
    ["2026-03-01T10:00:00.123+0100", Date.UTC(2026, 2, 1, 9, 0, 0, 123)],
  ])("%s → %i", (text, ms) => expect(parseTimeText(text)).toBe(ms));

  it.each(["2026/02/30", "2026-2-30", "Feb 30 2026", "30 Feb 2026", "+002026-02-30T00:00:00Z", "2026-03-01 10:00", "+275760-09-13", "+010000-01-01T00:00:00Z", "253402300800000", "-000001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-02-30", "2027-02-29", "1900-02-29T00:00:00Z", "2026-04-31T10:00:00Z", "2026-13-01", "2026-00-10", "yesterday", ""])("refuses %j", (text) => {
    expect(parseTimeText(text)).toBeUndefined();
  });
});
