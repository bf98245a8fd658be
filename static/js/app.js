/* Tsunagu: small progressive enhancements; every page works without this file.
   Live updates and keyboard shortcuts hook in later through the data-* attributes
   (data-ticket-id, data-customer-id, data-message-id, data-shortcut-target). */
(function () {
  "use strict";

  // Forms that do something irreversible ask first (data-confirm holds the question).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Ctrl/Cmd+Enter in a reply or note box submits its form.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.tagName === "TEXTAREA" && target.form) {
      event.preventDefault();
      if (target.form.requestSubmit) { target.form.requestSubmit(); } else { target.form.submit(); }
    }
  });

  // A double click on send must not queue the reply twice.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var form = event.target;
    if (form.dataset && form.dataset.submitting) { event.preventDefault(); return; }
    if (form.dataset) { form.dataset.submitting = "1"; }
  });

  window.Tsunagu = window.Tsunagu || {};
  window.Tsunagu.currentTicketId = function () {
    var el = document.querySelector(".ticket-view[data-ticket-id]");
    return el ? Number(el.getAttribute("data-ticket-id")) : null;
  };
})();
