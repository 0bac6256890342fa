// Demo shop: the debug line in the footer. After every decide it lists, per slot, the reason,
// block id and model version that nb.js recorded as data attributes on the slot element.
(function () {
  "use strict";

  function describeSlot(slot) {
    var name = slot.getAttribute("data-nb-slot");
    if (!slot.hasAttribute("data-nb-block")) return name + ": default content";
    return name + ": " + slot.getAttribute("data-nb-reason") +
      " · " + slot.getAttribute("data-nb-block") +
      " · model " + (slot.getAttribute("data-nb-model") || "none");
  }

  function describeSignals() {
    if (!window.nextbest) return "";
    var signals = window.nextbest.signals();
    var views = Object.keys(signals.categoryViews).map(function (category) {
      return category + "×" + signals.categoryViews[category];
    });
    return " | visit " + signals.visitCount + ", views " + (views.join(" ") || "none") + ", " + signals.device;
  }

  function update(event) {
    var line = document.getElementById("nb-debug");
    if (!line) return;
    var slots = Array.prototype.map.call(document.querySelectorAll("[data-nb-slot]"), describeSlot);
    var failed = event && event.detail && event.detail.length === 0 ? " (no answer: defaults kept)" : "";
    line.textContent = "nextbest: " + slots.join(" | ") + failed + describeSignals();
  }

  document.addEventListener("nextbest:decisions", update);
})();
