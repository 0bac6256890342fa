/**
 * Engagement rate by hour of week, per customer, smoothed toward the population's by
 * Beta-binomial shrinkage (empirical Bayes).
 *
 * Model: a customer's engagement probability at hour-of-week w is p_w ~ Beta(κ·m_w, κ·(1 − m_w)),
 * and of s_w sends at w, e_w were engaged with (opened or clicked): e_w | p_w ~ Binomial(s_w, p_w).
 * The posterior mean is (e_w + κ·m_w) / (s_w + κ): the customer's own rate when they have many
 * sends at that hour, the prior mean m_w when they have none (Efron & Morris 1975, "Data analysis
 * using Stein's estimator and its generalizations", JASA 70; Casella 1985, "An introduction to
 * empirical Bayes data analysis", The American Statistician 39).
 *
 * Prior means (two levels, because 168 cells per customer are thin): m_w is the customer's own
 * rate at the same hour of *day* (all seven days pooled), itself shrunk with the same κ toward the
 * population's rate at that hour of day, which is the population's pooled engagement ÷ sends. So a
 * customer with data at 19:00 on weekdays informs Saturday 19:00, and a new customer gets the
 * population's hours.
 *
 * Prior strength κ (pseudo-sends): estimated from the population by the method of moments
 * (`estimatePriorStrength`): under the Beta-binomial, Var(e) = s·m(1−m)·(1 + (s−1)ρ) with the
 * intra-class correlation ρ = 1/(κ+1) (Kleinman 1973, "Proportions with extraneous variance",
 * JASA 68; the variance-inflation form of Brier 1980, Biometrika 67). Pearson residuals
 * X² = (e − s·m)² / (s·m(1−m)) therefore have E[X²] = 1 + (s−1)ρ, and ρ̂ = Σ(X² − 1) / Σ(s − 1).
 */

export const HOURS_OF_WEEK = 168;

/** Sends and engagements per hour of week (arrays of 168). */
export interface HourCounts {
  sends: number[];
  engaged: number[];
}

export const emptyCounts = (): HourCounts => ({ sends: new Array(HOURS_OF_WEEK).fill(0), engaged: new Array(HOURS_OF_WEEK).fill(0) });

/** Rate at each hour of day (0..23), all days pooled: engaged ÷ sends, or `fallback` without sends. */
function byHourOfDay(c: HourCounts): { sends: number[]; engaged: number[] } {
  const sends = new Array(24).fill(0);
  const engaged = new Array(24).fill(0);
  for (let w = 0; w < HOURS_OF_WEEK; w++) {
    sends[w % 24] += c.sends[w] ?? 0;
    engaged[w % 24] += c.engaged[w] ?? 0;
  }
  return { sends, engaged };
}

/** The population's engagement rate per hour of day; `floor` where it has no sends. */
export function populationRates(population: HourCounts, floor: number): number[] {
  const d = byHourOfDay(population);
  return d.sends.map((s, h) => (s > 0 ? d.engaged[h]! / s : floor));
}

/**
 * The customer's smoothed engagement rate at each hour of week (168 values, each in (0,1)):
 * hour-of-week counts shrunk toward their own hour-of-day rate, which is shrunk toward the
 * population's (see the file comment). κ ≥ 0 in pseudo-sends.
 */
export function smoothedRates(customer: HourCounts, populationByHour: number[], kappa: number): number[] {
  const d = byHourOfDay(customer);
  const day = d.sends.map((s, h) => (d.engaged[h]! + kappa * populationByHour[h]!) / (s + kappa || 1));
  const out = new Array<number>(HOURS_OF_WEEK);
  for (let w = 0; w < HOURS_OF_WEEK; w++) {
    const s = customer.sends[w] ?? 0;
    out[w] = s + kappa > 0 ? ((customer.engaged[w] ?? 0) + kappa * day[w % 24]!) / (s + kappa) : day[w % 24]!;
  }
  return out;
}

/**
 * Method-of-moments estimate of κ from many customers' (sends, engaged) cells at known prior
 * means (see the file comment). Cells with fewer than 2 sends carry no information about ρ and are
 * skipped. ρ̂ is clipped to [1e-4, 1) so κ stays finite and ≥ 0. Returns κ = 1/ρ̂ − 1.
 */
export function estimatePriorStrength(cells: ReadonlyArray<{ sends: number; engaged: number; mean: number }>): number {
  let num = 0;
  let den = 0;
  for (const c of cells) {
    if (c.sends < 2 || c.mean <= 0 || c.mean >= 1) continue;
    num += (c.engaged - c.sends * c.mean) ** 2 / (c.sends * c.mean * (1 - c.mean)) - 1;
    den += c.sends - 1;
  }
  if (den === 0) return Infinity;
  const rho = Math.min(Math.max(num / den, 1e-4), 1 - 1e-9);
  return 1 / rho - 1;
}
