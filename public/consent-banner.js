// Demo shop: the consent bar. Shown while the visitor has not answered; the answer goes to
// nb.js through window.nextbest.consent(), which stores it and decides again. Kept out of
// nb.js on purpose: sites bring their own consent tools and call the same API.
(function () {
  "use strict";

  /** Runs `callback(nextbest)` once nb.js has loaded (it may load before or after this file). */
  function whenNextbestReady(callback) {
    if (window.nextbest) return callback(window.nextbest);
    document.addEventListener("nextbest:ready", function () { callback(window.nextbest); }, { once: true });
  }

  function start() {
    var bar = document.getElementById("nb-consent");
    if (!bar) return;

    whenNextbestReady(function (nextbest) {
      nextbest.consentState().then(function (answer) {
        if (!answer) bar.hidden = false;
      });

      bar.addEventListener("click", function (event) {
        var button = event.target.closest("button[data-consent]");
        if (!button) return;
        var accepted = button.getAttribute("data-consent") === "accept";
        bar.hidden = true;
        // The demo asks one question, so it grants or refuses both purposes together.
        nextbest.consent({ personalization: accepted, analytics: accepted });
      });

      // "Privacy choices" in the footer opens the bar again to change the answer.
      document.addEventListener("click", function (event) {
        if (event.target.closest("[data-consent-open]")) bar.hidden = false;
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
