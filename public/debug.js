// Demo shop: the footer that explains what nextbest decided. After every decide it lists, per
// slot, the reason, the block and the model, and says what the reason means — from the data
// attributes nb.js (or, in proxy mode, the edge) put on each slot element. It also offers a way
// to come back as a new visitor (see "Start over" in the README).
(function () {
  "use strict";

  /** What each `reason` of a decision means, in the visitor's words. */
  var MEANINGS = {
    ranked: "the model scored the blocks the guardrails allowed for this visit, and this one came first",
    holdout: "you are in the control group: 1 visitor in 20 always sees the default content, so the lift of personalisation can be measured",
    fallback: "the model could not answer in time, so the rules chose: a block of this page's category first, then the highest priority × value",
    default: "no personalisation consent: the slot keeps its default content",
  };

  /** The decisions the edge wrote into the page (proxy mode), by slot. */
  function edgeDecisions() {
    var script = document.getElementById("nb-decisions");
    var bySlot = {};
    if (!script) return bySlot;
    try {
      JSON.parse(script.textContent).forEach(function (d) { bySlot[d.slot] = d; });
    } catch (e) {
      // not ours to break the page over
    }
    return bySlot;
  }

  function describeSlot(slot, edge, failed) {
    var name = slot.getAttribute("data-nb-slot");
    var reason = slot.getAttribute("data-nb-reason");
    if (!reason) {
      if (slot.getAttribute("data-nb-state") === "pending") return name + ": waiting for a decision…";
      return name + ": default content — " + (failed ? "no answer from nextbest in time (or an error), so the page's own content stays" : "not decided");
    }
    var fromEdge = slot.getAttribute("data-nb-source") === "edge";
    var model = fromEdge ? (edge[name] && edge[name].modelVersion) : slot.getAttribute("data-nb-model");
    var parts = [name + ": " + reason + (fromEdge ? " at the edge" : ""), slot.getAttribute("data-nb-block")];
    if (model) parts.push("model " + model);
    var meaning = MEANINGS[reason] || "";
    if (fromEdge) meaning = "filled by the Worker in the page's HTML before it reached the browser (proxy mode); " + meaning;
    return parts.join(" · ") + " — " + meaning;
  }

  function describeSignals() {
    if (!window.nextbest) return "";
    var signals = window.nextbest.signals();
    var views = Object.keys(signals.categoryViews).map(function (category) {
      return category + "×" + signals.categoryViews[category];
    });
    return "Signals: visit " + signals.visitCount + ", category views " + (views.join(" ") || "none") + ", " + signals.device + ".";
  }

  function line(text) {
    var p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  function restartButton() {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.setAttribute("data-nb-restart", "");
    button.textContent = "Start over as a new visitor";
    return button;
  }

  function update(event) {
    var box = document.getElementById("nb-debug");
    if (!box) return;
    var slots = Array.prototype.slice.call(document.querySelectorAll("[data-nb-slot]"));
    var edge = edgeDecisions();
    var failed = !!(event && event.detail && event.detail.length === 0);
    box.textContent = "";
    box.appendChild(line("nextbest decided:"));
    var list = document.createElement("ul");
    slots.forEach(function (slot) {
      var item = document.createElement("li");
      item.textContent = describeSlot(slot, edge, failed);
      list.appendChild(item);
    });
    box.appendChild(list);
    var held = slots.filter(function (s) { return s.getAttribute("data-nb-reason") === "holdout"; });
    if (held.length) {
      var note = line("");
      // One id for the edge and nb.js: the IndexedDB copy and the nb_vid cookie go together.
      note.textContent = "You are in the control group, chosen from the random visitor id this browser keeps. To try again as a new visitor: ";
      note.appendChild(restartButton());
      note.className = "nb-holdout-note";
      box.appendChild(note);
    }
    var signals = describeSignals();
    if (signals) box.appendChild(line(signals));
  }

  /**
   * Forgets this browser's visitor: the id, session and answer nb.js keeps in IndexedDB
   * (idb-keyval's `keyval-store`), the visitor id cookie and the consent cookie; then reloads as a first visit.
   */
  function startOver() {
    document.cookie = "nb_consent=; Path=/; Max-Age=0; SameSite=Lax";
    document.cookie = "nb_vid=; Path=/; Max-Age=0; SameSite=Lax";
    var reload = function () { window.location.reload(); };
    var open = indexedDB.open("keyval-store");
    open.onerror = reload;
    open.onsuccess = function () {
      var db = open.result;
      if (!db.objectStoreNames.contains("keyval")) return reload();
      var tx = db.transaction("keyval", "readwrite");
      tx.objectStore("keyval").clear();
      tx.oncomplete = function () { db.close(); reload(); };
      tx.onerror = reload;
    };
  }

  document.addEventListener("nextbest:decisions", update);
  // nb.js loads async and may have decided before this deferred script ran (a busy machine):
  // describe the slots that already carry a decision rather than wait for the next one.
  if (document.querySelector("[data-nb-slot][data-nb-reason]")) update();
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-nb-restart]")) startOver();
  });
})();
