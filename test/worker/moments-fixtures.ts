/** The four moments of the issue, written in the trigger grammar (README "Moments"). */
export const EXAMPLE_MOMENTS = {
  moments: [
    {
      id: "intent-spike",
      trigger: { windows: { views: { event: "product_view", within: 1800, by: "category" } }, condition: { ">=": [{ var: "events.views.maxPerKey" }, 3] } },
      exit: { event: "conversion", afterSeconds: 86_400 },
      reentry: { maxEntries: 3, cooldownSeconds: 3600 },
      kpi: { event: "conversion", windowSeconds: 86_400 },
      actions: ["email-category-picks", "web-hero-category"],
    },
    {
      id: "onboarding",
      trigger: { condition: { "==": [{ var: "visit.count" }, 1] } },
      exit: { afterSeconds: 7 * 86_400 },
      kpi: { event: "signup", windowSeconds: 7 * 86_400 },
    },
    {
      id: "renewal-window",
      trigger: { condition: { and: [{ "!==": [{ var: "signals.daysToRenewal" }, null] }, { ">=": [{ var: "signals.daysToRenewal" }, 0] }, { "<=": [{ var: "signals.daysToRenewal" }, 30] }] } },
      exit: { event: "renewed" },
      kpi: { event: "renewed", windowSeconds: 30 * 86_400 },
    },
    {
      id: "abandonment",
      trigger: {
        windows: { cart: { event: "add_to_cart", within: 86_400 }, bought: { event: "conversion", within: 86_400 } },
        condition: {
          and: [
            { ">=": [{ var: "events.cart.ago" }, 3600] },
            { or: [{ "==": [{ var: "events.bought.ago" }, null] }, { ">": [{ var: "events.bought.ago" }, { var: "events.cart.ago" }] }] },
          ],
        },
      },
      exit: { event: "conversion" },
      reentry: { maxEntries: 5, cooldownSeconds: 0 },
      kpi: { event: "conversion", windowSeconds: 3 * 86_400 },
    },
  ],
};

