// The experiments page's lift view fed an API-shaped answer (GET /admin/reports/lift): the SRM
// warning in words (role alert, not colour only), lift and rates with their intervals, the
// minimum detectable lift, the other warnings; and the interval helpers' wording.
import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { html } from "../../console/html.ts";
import { intervalText, verdict } from "../../console/ui/interval-chart.ts";
import { LiftView, Methods, type LiftFigures } from "../../console/ui/lift-view.ts";

/** As the route answers it for 400 treatment (80 converted) and 100 control (10) visitors against 5% control. */
const REPORT: LiftFigures = {
  confidence: 0.95,
  treatment: { visitors: 400, conversions: 80, rate: { estimate: 0.2, low: 0.1642, high: 0.2414 } },
  control: { visitors: 100, conversions: 10, rate: { estimate: 0.1, low: 0.0552, high: 0.1744 } },
  lift: { absolute: { estimate: 0.1, low: 0.0212, high: 0.1596 }, relative: { estimate: 1, low: 0.08, high: 2.7 }, pValue: 0.0177, significant: true },
  minimumDetectableLift: 0.0962,
  srm: { mismatch: true, pValue: 1.2e-40, observedControlShare: 0.2, expectedControlShare: 0.05, },
  warnings: [
    { code: "sample_ratio_mismatch", message: "control has 20.00% of visitors, configured 5.00% (chi-square p = 1.20e-40): assignment or logging is broken, do not trust the lift" },
    { code: "mixed_visitors", message: "3 visitors were seen in both groups (salt or rate changed?) and are excluded" },
  ],
};

afterEach(() => render(null, document.body));

describe("lift view", () => {
  it("puts the SRM warning first, in words, with the lift, its interval and the minimum detectable lift", () => {
    render(html`<${LiftView} title="Campaign spring" kpi="conversion" report=${REPORT} />`, document.body);
    const alert = document.querySelector('[role="alert"]')!;
    expect(alert.textContent).toContain("Sample ratio mismatch (SRM): do not trust this lift.");
    expect(alert.textContent).toContain("configured 5.00%");
    expect(document.querySelector(".lift-view")!.firstElementChild).toBe(alert);
    const summary = document.querySelector(".lift-summary")!.textContent!.replace(/\s+/g, " ");
    expect(summary).toContain("KPI conversion: lift +10.00% (+2.12% to +15.96%) (95% interval)");
    expect(summary).toContain("p = 0.018 — significant");
    expect(summary).toContain("Minimum detectable lift: ±9.6% (80% power)");
    // Each chart names its rows and intervals for screen readers.
    const labels = [...document.querySelectorAll('[role="img"]')].map((e) => e.getAttribute("aria-label"));
    expect(labels[0]).toContain("Treatment, 80/400 · up: +20.00% (+16.42% to +24.14%)");
    expect(labels[0]).toContain("Control, 10/100 · up: +10.00% (+5.52% to +17.44%)");
    expect(labels[1]).toContain("Lift · up: +10.00% (+2.12% to +15.96%)");
    expect(document.querySelector("ul.warnings")!.textContent).toContain("mixed visitors: 3 visitors");
  });

  it("shows no SRM warning when the API flags none, and says when no interval exists yet", () => {
    const empty = { estimate: null, low: null, high: null };
    const report: LiftFigures = { ...REPORT, control: { visitors: 0, conversions: 0, rate: empty }, lift: { absolute: empty, relative: empty, pValue: null, significant: false }, minimumDetectableLift: null, srm: { ...REPORT.srm, mismatch: false }, warnings: [] };
    render(html`<${LiftView} title="Moment m" kpi="click" report=${report} />`, document.body);
    expect(document.querySelector('[role="alert"]')).toBeNull();
    expect(document.querySelector(".lift-summary")!.textContent).toContain("lift no data");
    expect(document.body.textContent).toContain("Minimum detectable lift: not computable yet");
    expect(document.body.textContent).toContain("No interval yet");
  });

  it("prints the API's method names as small print", () => {
    render(html`<${Methods} methods=${{ absoluteLift: "Newcombe hybrid score interval", srm: "Pearson chi-square" }} />`, document.body);
    expect(document.querySelector(".methods small")!.textContent).toBe("Methods: absoluteLift: Newcombe hybrid score interval; srm: Pearson chi-square.");
  });

  it.each([
    [{ estimate: 0.02, low: 0.01, high: 0.03 }, "up", "+2.00% (+1.00% to +3.00%)"],
    [{ estimate: -0.02, low: -0.03, high: -0.01 }, "down", "−2.00% (−3.00% to −1.00%)"],
    [{ estimate: 0.01, low: -0.01, high: 0.03 }, "crosses 0", "+1.00% (−1.00% to +3.00%)"],
    [{ estimate: null, low: null, high: null }, "no data", "no data"],
  ])("words the interval %j as %s", (interval, word, text) => {
    expect(verdict(interval)).toBe(word);
    expect(intervalText(interval)).toBe(text);
  });
});
