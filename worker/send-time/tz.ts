/**
 * Local time in a customer's IANA time zone, from the runtime's time-zone database through
 * `Intl.DateTimeFormat` (ECMA-402): offsets, DST changes and half-hour zones come from there,
 * never from a table of ours. Every function is pure (no clock).
 */

/** The local wall-clock parts of an instant. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** 0..23. */
  hour: number;
  minute: number;
  /** 0 = Monday … 6 = Sunday (ISO 8601). */
  weekday: number;
  /** Local time minus UTC, minutes (e.g. -240 for New York in summer). */
  offsetMinutes: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
    formats.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows `timeZone` as an IANA zone (e.g. "Europe/Paris"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    format(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local time of `at` (epoch ms) in `timeZone`. Throws RangeError for an unknown zone. */
export function localTime(at: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of format(timeZone).formatToParts(new Date(at))) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const offsetMinutes = Math.round((wall - Math.floor(at / 60_000) * 60_000) / 60_000);
  return { year, month, day, hour, minute, weekday: WEEKDAYS[parts.weekday!] ?? 0, offsetMinutes };
}

/** Hour of week in the customer's zone, Monday 00:00 = 0 … Sunday 23:00 = 167. */
export function localHourOfWeek(at: number, timeZone: string): number {
  const t = localTime(at, timeZone);
  return t.weekday * 24 + t.hour;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** ISO 8601 with the zone's offset at that instant, e.g. "2026-03-08T10:00:00-04:00". */
export function isoWithOffset(at: number, timeZone: string): string {
  const t = localTime(at, timeZone);
  const seconds = Math.floor((at % 60_000) / 1000);
  const sign = t.offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(t.offsetMinutes);
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(seconds)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A send instant at the start of a local hour. */
export interface HourSlot {
  /** Epoch ms of the local hour's start. */
  at: number;
  /** Local hour of day, 0..23. */
  hour: number;
  /** Local hour of week, 0..167. */
  hourOfWeek: number;
}

/** Offsets are whole quarter hours in every IANA zone, so stepping by 15 min finds every local :00. */
const STEP_MS = 15 * 60_000;

/**
 * The starts of local hours in (from, to], in order. A spring-forward day simply has no slot for
 * the skipped hour; a fall-back day has two slots with the same local hour (different instants).
 */
export function hourSlots(from: number, to: number, timeZone: string): HourSlot[] {
  const out: HourSlot[] = [];
  for (let t = Math.floor(from / STEP_MS) * STEP_MS + STEP_MS; t <= to; t += STEP_MS) {
    const l = localTime(t, timeZone);
    if (l.minute === 0) out.push({ at: t, hour: l.hour, hourOfWeek: l.weekday * 24 + l.hour });
  }
  return out;
}
