// Retention panel: put the action's reply draft into the ticket's reply box (no framework).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-retention-use-draft]");
    if (!button) return;
    var panel = button.closest(".retention-panel");
    var draft = panel && panel.querySelector(".retention-draft");
    var reply = document.querySelector("textarea.reply-body");
    if (!draft || !reply) return;
    reply.value = draft.value;
    reply.focus();
    reply.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
