// Retention panel: put the action's reply draft into the ticket's reply box, and keep the panel
// current: when the subscription or the case changes (a colleague's action, the shop's answer, a
// shop sync), refetch the panel and replace it, so every viewer sees the fresh state and version
// (a click on a stale panel is refused by the server anyway). No framework.
(function () {
  "use strict";
  if (window.tsunaguRetention) { return; }  // the panel (and this script) can be rendered again
  window.tsunaguRetention = true;

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

  function currentPanel() { return document.querySelector(".retention-panel[data-refresh-url]"); }

  function refreshUrl(panel) {
    var url = panel.getAttribute("data-refresh-url");
    var picker = panel.querySelector(".sub-picker select[name='subscription_id']");
    var chosen = picker ? picker.value : new URLSearchParams(window.location.search).get("subscription_id");
    return chosen ? url + (url.indexOf("?") >= 0 ? "&" : "?") + "subscription_id=" + encodeURIComponent(chosen) : url;
  }

  var running = false, again = false;
  function refresh() {
    var panel = currentPanel();
    if (!panel) { return; }
    if (running) { again = true; return; }
    running = true;
    fetch(refreshUrl(panel), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html;  // our own server-rendered, escaped partial
        var fresh = tpl.content.querySelector(".retention-panel");
        var old = currentPanel();
        if (!fresh || !old) { return; }
        // Keep what the agent had open, and send forms back to this page (not the partial).
        old.querySelectorAll("details[open]").forEach(function (d) {
          var same = d.className && fresh.querySelector("details." + d.className.split(" ")[0]);
          if (same) { same.open = true; }
        });
        fresh.querySelectorAll("input[name='next']").forEach(function (input) {
          input.value = window.location.pathname + window.location.search;
        });
        fresh.setAttribute("data-refreshed", String(Date.now()));
        old.parentNode.replaceChild(fresh, old);
        document.dispatchEvent(new CustomEvent("tsunagu:retention-refreshed"));
      })
      .catch(function () {})
      .then(function () {
        running = false;
        if (again) { again = false; refresh(); }
      });
  }

  var timer = null;
  function soon() {  // several events in a row (action, shop answer, outcome) make one refetch
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  var RELEVANT = ["subscription_action", "retention_outcome", "intent"];
  var bound = false;
  function bind() {
    // live.js (a later deferred script) opens the page's socket: called again once it has run.
    var socket = (window.Tsunagu && window.Tsunagu.socket) || window.tsunaguSocket;
    if (bound || !socket || !currentPanel()) { return; }
    bound = true;
    socket.on("subscription.changed", function (data) {
      var p = currentPanel();
      if (p && String(data.ticket_id) === p.getAttribute("data-ticket-id")) { soon(); }
    });
    socket.on("ticket.changed", function (data) {
      var p = currentPanel();
      if (!p || String(data.ticket_id) !== p.getAttribute("data-ticket-id")) { return; }
      var changes = data.changes || [];
      if (!changes.length || changes.some(function (c) { return RELEVANT.indexOf(c) >= 0; })) { soon(); }
    });
  }

  bind();
  document.addEventListener("DOMContentLoaded", bind);
  window.addEventListener("load", bind);
  window.Tsunagu = window.Tsunagu || {};
  window.Tsunagu.refreshRetention = refresh;
})();
