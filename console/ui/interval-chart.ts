/**
 * Estimates with their intervals, read at a glance: one row per arm or campaign, a dot at the
 * estimate, a bar from the interval's low to its high end, and a zero line (drawn with Observable
 * Plot through PlotChart). A row whose interval is all above zero is "up", all below "down",
 * else "crosses 0": the chart says so in text too (the row's label), never by colour only.
 * The numbers come from the API as they are (`{estimate, low, high}`); nothing is computed here.
 */
import { html } from "../html.ts";
import { PlotChart, Plot } from "./chart.ts";

/** An interval as the API answers it (worker/stats/proportions.ts `Interval`). */
export interface ApiInterval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}

export interface IntervalRow {
  label: string;
  interval: ApiInterval;
}

/** Where the interval lies against zero, in words. */
export function verdict(i: ApiInterval): "up" | "down" | "crosses 0" | "no data" {
  if (i.low === null || i.high === null || i.estimate === null) return "no data";
  if (i.low > 0) return "up";
  if (i.high < 0) return "down";
  return "crosses 0";
}

const asPct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(2)}%`);
/** "+1.20% (−0.40% to +2.80%)": an estimate with its interval, as percentage points. */
export function intervalText(i: ApiInterval): string {
  const sign = (x: number | null) => (x === null ? "–" : `${x > 0 ? "+" : x < 0 ? "−" : ""}${asPct(Math.abs(x))}`);
  return i.estimate === null ? "no data" : `${sign(i.estimate)} (${sign(i.low)} to ${sign(i.high)})`;
}

/** The chart: rows with data are drawn; `label` names it for screen readers (a summary is added). */
export function IntervalChart({ rows, label, axis = "Lift (percentage points)" }: { rows: IntervalRow[]; label: string; axis?: string }) {
  const drawn = rows
    .filter((r) => r.interval.estimate !== null && r.interval.low !== null && r.interval.high !== null)
    .map((r) => ({ row: `${r.label} · ${verdict(r.interval)}`, estimate: r.interval.estimate!, low: r.interval.low!, high: r.interval.high! }));
  if (drawn.length === 0) return html`<p class="muted">No interval yet: no visitors in one of the groups.</p>`;
  const options: Plot.PlotOptions = {
    marginLeft: 12,
    height: 40 + drawn.length * 44,
    x: { label: axis, tickFormat: (x: number) => `${(x * 100).toFixed(1)}`, grid: true, nice: true },
    y: { axis: null, domain: drawn.map((d) => d.row) },
    marks: [
      Plot.ruleX([0], { stroke: "currentColor", strokeDasharray: "4,3" }),
      Plot.ruleY(drawn, { y: "row", x1: "low", x2: "high", strokeWidth: 3, stroke: "#2b6cb0" }),
      Plot.dot(drawn, { y: "row", x: "estimate", r: 5, fill: "#1a365d" }),
      Plot.text(drawn, { y: "row", text: "row", textAnchor: "start", dy: -13, frameAnchor: "left" }),
    ],
  };
  const summary = drawn.map((d) => `${d.row}: ${intervalText(d)}`).join("; ");
  return html`<${PlotChart} options=${options} label=${`${label}. ${summary}`} />`;
}
