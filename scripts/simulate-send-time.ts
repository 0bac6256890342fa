/**
 * Simulation of channel and send-time decisions (issue 18): 2,000 customers in eight time zones,
 * each with a known best local hour (8:00–20:00) and a preferred channel. Every day for 8 weeks
 * each customer has a trigger at a random time and gets one message within 24 h of it, outside
 * quiet hours (21:00–08:00 local), on the channel with the best smoothed engagement (ε-greedy),
 * at the hour chosen by the production send-time code (worker/send-time/: local slots from Intl,
 * Beta-binomial shrinkage toward the population with κ re-estimated weekly by empirical Bayes,
 * the fallback hour 10:00 while a customer has fewer than 5 sends, ε = 0.1 exploration).
 * The same customers, triggers and engagement coins under a fixed-hour schedule (always the
 * fallback hour) give the baseline. Deterministic: seeded, never Math.random().
 *
 *   npm run simulate:send-time
 */
import { pathToFileURL } from "node:url";
import { mulberry32 } from "../models/prng.ts";
import { isQuietHour } from "../worker/next-action/guardrails.ts";
import { chooseSendTime } from "../worker/send-time/choose.ts";
import { emptyCounts, estimatePriorStrength, populationRates, smoothedRates, type HourCounts } from "../worker/send-time/shrinkage.ts";
import { hourSlots, type HourSlot } from "../worker/send-time/tz.ts";

export const CHANNELS = ["email", "push", "sms"] as const;
export const ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Paris", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"];
const QUIET = { start: 21, end: 8 };
const H = 3_600_000;
const DAY = 24 * H;
/** Monday 2026-03-02 00:00 UTC: the 8 weeks cross the US (Mar 8) and EU (Mar 29) DST changes. */
const START = Date.parse("2026-03-02T00:00:00Z");

export interface SimOptions {
  customers: number;
  weeks: number;
  seed: number;
  fallbackHour: number;
  minSends: number;
  epsilon: number;
  /** Customers with at least this many sends count as having enough data. */
  enoughSends: number;
}
export const DEFAULTS: SimOptions = { customers: 2000, weeks: 8, seed: 18, fallbackHour: 10, minSends: 5, epsilon: 0.1, enoughSends: 20 };

interface Customer {
  zone: string;
  bestHour: number;
  channel: (typeof CHANNELS)[number];
  counts: HourCounts;
  channelSends: number[];
  channelEngaged: number[];
}

/** True engagement probability of a message at local hour `h` on channel index `c`. */
export function trueRate(cust: Pick<Customer, "bestHour" | "channel">, h: number, c: number): number {
  const d = Math.min(Math.abs(h - cust.bestHour), 24 - Math.abs(h - cust.bestHour));
  const byHour = 0.04 + 0.3 * Math.exp(-((d / 1.5) ** 2));
  return byHour * (CHANNELS[c] === cust.channel ? 1 : 0.5);
}

function population(n: number, seed: number): Customer[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => ({
    zone: ZONES[Math.floor(rand() * ZONES.length)]!,
    bestHour: 8 + Math.floor(rand() * 13),
    channel: CHANNELS[Math.floor(rand() * CHANNELS.length)]!,
    counts: emptyCounts(),
    channelSends: [0, 0, 0],
    channelEngaged: [0, 0, 0],
  }));
}

export interface SimResult {
  /** Engagement rate (engaged ÷ sends) over all weeks and over the last 4 weeks. */
  optimised: { all: number; last4: number };
  fixedHour: { all: number; last4: number };
  /** Customers with ≥ enoughSends sends; the share whose chosen hour is their true best (±1 h). */
  enoughData: number;
  bestHourShare: number;
  withinOneHourShare: number;
  /** Share whose chosen channel is their preferred one. */
  channelShare: number;
  /** κ estimated by empirical Bayes at the end. */
  kappa: number;
  sends: number;
}

/** Runs one policy over the whole population; `fixed` always sends at the fallback hour. */
function run(o: SimOptions, fixed: boolean) {
  const customers = population(o.customers, o.seed);
  const triggers = mulberry32(o.seed + 1);
  const coins = mulberry32(o.seed + 2);
  const end = START + o.weeks * 7 * DAY;
  const slotsByZone = new Map(ZONES.map((z) => [z, hourSlots(START, end + 2 * DAY, z).filter((s) => !isQuietHour(s.hour, QUIET))]));
  const pop = emptyCounts();
  let kappa = 8;
  let engaged = 0, sends = 0, engagedLast = 0, sendsLast = 0;
  for (let day = 0; day < o.weeks * 7; day++) {
    const popRates = populationRates(pop, 0.05);
    for (const [i, cust] of customers.entries()) {
      const trigger = START + day * DAY + Math.floor(triggers() * DAY);
      const all = slotsByZone.get(cust.zone)!;
      const slots: HourSlot[] = all.filter((s) => s.at > trigger && s.at <= trigger + DAY);
      // Channel: ε-greedy on the customer's Beta(1,1)-smoothed rate per channel (the model's stand-in).
      const means = cust.channelSends.map((n, c) => (cust.channelEngaged[c]! + 1) / (n + 2));
      let c = means.indexOf(Math.max(...means));
      if (coins() < o.epsilon) c = Math.floor(coins() * CHANNELS.length);
      const thin = fixed || cust.counts.sends.reduce((a, b) => a + b, 0) < o.minSends;
      const choice = chooseSendTime({ slots, rates: smoothedRates(cust.counts, popRates, kappa), thin, fallbackHour: o.fallbackHour, epsilon: fixed ? 0 : o.epsilon, seed: `${o.seed}:${i}:${day}`, salt: "sim" });
      const yes = coins() < trueRate(cust, choice.slot.hour, c) ? 1 : 0;
      const w = choice.slot.hourOfWeek;
      cust.counts.sends[w]! += 1;
      cust.counts.engaged[w]! += yes;
      pop.sends[w]! += 1;
      pop.engaged[w]! += yes;
      cust.channelSends[c]! += 1;
      cust.channelEngaged[c]! += yes;
      sends++;
      engaged += yes;
      if (day >= (o.weeks - 4) * 7) {
        sendsLast++;
        engagedLast += yes;
      }
    }
    // Empirical Bayes: κ from every customer's hour-of-day cells against the population's rates.
    if (!fixed && day % 7 === 6) {
      const rates = populationRates(pop, 0.05);
      kappa = estimatePriorStrength(customers.flatMap((cu) => Array.from({ length: 24 }, (_, h) => {
        let s = 0, e = 0;
        for (let d = 0; d < 7; d++) [s, e] = [s + cu.counts.sends[d * 24 + h]!, e + cu.counts.engaged[d * 24 + h]!];
        return { sends: s, engaged: e, mean: rates[h]! };
      })));
      if (!Number.isFinite(kappa)) kappa = 8;
    }
  }
  return { customers, pop, kappa, rate: engaged / sends, last4: engagedLast / sendsLast, sends };
}

/** Runs both policies and measures the chosen hours after the last week. */
export function simulateSendTime(options: Partial<SimOptions> = {}): SimResult {
  const o = { ...DEFAULTS, ...options };
  const opt = run(o, false);
  const base = run(o, true);
  const popRates = populationRates(opt.pop, 0.05);
  let enough = 0, best = 0, near = 0, channel = 0;
  const after = START + o.weeks * 7 * DAY;
  for (const cust of opt.customers) {
    const means = cust.channelSends.map((n, c) => (cust.channelEngaged[c]! + 1) / (n + 2));
    if (CHANNELS[means.indexOf(Math.max(...means))] === cust.channel) channel++;
    if (cust.counts.sends.reduce((a, b) => a + b, 0) < o.enoughSends) continue;
    enough++;
    // The hour the policy would choose (no exploration) for a trigger at the start of the next week.
    const slots = hourSlots(after, after + DAY, cust.zone).filter((s) => !isQuietHour(s.hour, QUIET));
    const h = chooseSendTime({ slots, rates: smoothedRates(cust.counts, popRates, opt.kappa), thin: false, fallbackHour: o.fallbackHour, epsilon: 0, seed: "final", salt: "sim" }).slot.hour;
    if (h === cust.bestHour) best++;
    if (Math.abs(h - cust.bestHour) <= 1) near++;
  }
  return {
    optimised: { all: opt.rate, last4: opt.last4 },
    fixedHour: { all: base.rate, last4: base.last4 },
    enoughData: enough,
    bestHourShare: best / enough,
    withinOneHourShare: near / enough,
    channelShare: channel / o.customers,
    kappa: opt.kappa,
    sends: opt.sends,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = simulateSendTime();
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(`send-time simulation: ${DEFAULTS.customers} customers, ${DEFAULTS.weeks} weeks, ${r.sends} messages per policy (seed ${DEFAULTS.seed})`);
  console.log(`customers with ≥ ${DEFAULTS.enoughSends} sends: ${r.enoughData}`);
  console.log(`chosen hour = true best hour: ${pct(r.bestHourShare)} (within ±1 h: ${pct(r.withinOneHourShare)})`);
  console.log(`chosen channel = preferred channel: ${pct(r.channelShare)}`);
  console.log(`engagement, optimised send time: ${pct(r.optimised.all)} (weeks 5–8: ${pct(r.optimised.last4)})`);
  console.log(`engagement, fixed hour ${DEFAULTS.fallbackHour}:00: ${pct(r.fixedHour.all)} (weeks 5–8: ${pct(r.fixedHour.last4)})`);
  console.log(`lift, weeks 5–8: ${(r.optimised.last4 / r.fixedHour.last4).toFixed(2)}×; κ (empirical Bayes): ${r.kappa.toFixed(1)}`);
}
