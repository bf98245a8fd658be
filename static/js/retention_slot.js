// Ticket page: a cancellation request's retention panel belongs in the full-width slot under the
// header (its ladder needs room). A ticket flagged while the page is open gets its panel refreshed
// in the ticket column; this moves it to the slot, and an unflagged panel back. No framework.
(function () {
  "use strict";
  function place() {
    var slot = document.querySelector("[data-retention-slot]");
    var column = document.querySelector(".ticket-props");
    if (!slot || !column) { return; }
    var panel = document.querySelector(".retention-panel");
    if (!panel) { return; }
    var wide = panel.classList.contains("flagged");
    if (wide && !slot.contains(panel)) {
      slot.appendChild(panel);
    } else if (!wide && slot.contains(panel)) {
      column.insertBefore(panel, column.children[1] || null);  // after the ticket's own panel
    }
  }
  function watch() {
    place();
    var view = document.querySelector(".ticket-view");
    if (view && window.MutationObserver) {
      new MutationObserver(place).observe(view, { childList: true, subtree: true });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
