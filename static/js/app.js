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

  /* Keyboard shortcuts: j/k move through the inbox, Enter/o open, r reply, n note, e solve,
     ? help. Ignored while typing in a field or with a modifier key held. */
  function typingIn(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.ticket-row")); }

  var selectedId = null;
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) { return; }
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.getAttribute("data-ticket-id");
    if (row.scrollIntoView) { row.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("tsunagu:inbox-refreshed", function () {
    if (selectedId) { select(document.querySelector('tr.ticket-row[data-ticket-id="' + selectedId + '"]')); }
  });

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var current = list.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = current === -1 ? 0 : Math.max(0, Math.min(list.length - 1, current + step));
    select(list[next]);
  }

  function help(show) {
    var box = document.getElementById("shortcut-help");
    if (!box) { return; }
    box.hidden = show === undefined ? !box.hidden : !show;
    if (!box.hidden) { var close = box.querySelector(".shortcut-close"); if (close) { close.focus(); } }
  }

  function i18n(key, fallback) {
    try { return JSON.parse(document.getElementById("shortcut-i18n").textContent)[key] || fallback; }
    catch (e) { return fallback; }
  }

  function solve() {
    var form = document.querySelector("form.update-form");
    if (!form || !form.elements.status) { return; }
    if (form.elements.status.value === "solved") { return; }
    if (!window.confirm(i18n("solve", "Mark this ticket as solved?"))) { return; }
    form.elements.status.value = "solved";
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".shortcut-close")) { help(false); }
    var box = document.getElementById("shortcut-help");
    if (box && event.target === box) { help(false); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { help(false); }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target)) { return; }
    var selected = document.querySelector("tr.ticket-row.selected");
    var reply = document.querySelector('[data-shortcut-target="reply"]');
    var note = document.querySelector('[data-shortcut-target="note"]');
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
      case "o":
        if (!selected) { return; }
        window.location.href = selected.querySelector("a").href;
        break;
      case "r":
        if (!reply) { return; }
        reply.focus();
        break;
      case "n":
        if (!note) { return; }
        var details = note.closest("details");
        if (details) { details.open = true; }
        note.focus();
        break;
      case "e": solve(); break;
      case "?": help(); break;
      default: return;
    }
    event.preventDefault();
  });

  window.Tsunagu = window.Tsunagu || {};
  window.Tsunagu.currentTicketId = function () {
    var el = document.querySelector(".ticket-view[data-ticket-id]");
    return el ? Number(el.getAttribute("data-ticket-id")) : null;
  };
})();
