/* Coupons: insert a code into the reply, live coupon requests for supervisors, live decisions
   on the ticket panel. Pages work without it (forms post normally; reload shows changes). */
(function () {
  "use strict";
  if (window.tsunaguCoupons) { return; }  // the panel may include this file more than once
  window.tsunaguCoupons = true;

  function replyBox() {
    return document.querySelector("textarea.reply-body, [data-shortcut-target='reply'], textarea[name='body']");
  }

  // "Insert into reply" puts the code at the cursor of the reply box.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".coupon-insert");
    if (!button) { return; }
    var box = replyBox();
    if (!box) { return; }
    var code = button.getAttribute("data-code");
    var start = box.selectionStart || box.value.length, end = box.selectionEnd || start;
    box.value = box.value.slice(0, start) + code + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + code.length;
  });

  function connect() {
    if (window.Tsunagu && window.Tsunagu.socket) { return window.Tsunagu.socket; }  // live.js's connection
    if (typeof window.io !== "function") { return null; }
    if (!window.tsunaguSocket) { window.tsunaguSocket = window.io({ transports: ["websocket", "polling"] }); }
    return window.tsunaguSocket;
  }

  // Run `join` now if the (shared) socket is already connected, and again on every reconnect.
  function onConnected(socket, join) {
    socket.on("connect", join);
    if (socket.connected) { join(); }
  }

  function yen(value) { return "¥" + Number(value).toLocaleString("ja-JP"); }

  function setupRequests(list) {
    var socket = connect();
    if (!socket) { return; }
    var status = document.getElementById("coupon-live-status");
    var me = list.getAttribute("data-supervisor-id");
    onConnected(socket, function () {
      socket.emit("coupons.join", function (joined) {
        if (status) { status.setAttribute("data-live", joined ? "on" : "off"); }
      });
    });
    socket.on("coupon.requested", function (c) {
      if (list.querySelector("[data-coupon-id='" + c.coupon_id + "']")) { return; }
      var node = document.getElementById("coupon-request-template").content.firstElementChild.cloneNode(true);
      node.setAttribute("data-coupon-id", c.coupon_id);
      node.querySelector(".cr-value").textContent = c.kind === "percent" ? c.value + "%" : yen(c.value);
      var link = node.querySelector(".cr-ticket");
      link.textContent = "#" + c.ticket_id;
      link.href = list.getAttribute("data-ticket-url").replace(/0$/, c.ticket_id);
      node.querySelector(".cr-by").textContent = c.requested_by;
      node.querySelector(".cr-reason").textContent = c.reason;
      var labels = JSON.parse(list.getAttribute("data-over-labels") || "{}");
      node.querySelector(".cr-over").textContent = (c.over || "").split(",").filter(Boolean)
        .map(function (k) { return labels[k] || k; }).join(", ");
      var form = node.querySelector("form");
      if (String(c.issued_by_id) === me) { form.remove(); } else {
        form.action = list.getAttribute("data-decide-url").replace(/\/0\/decide$/, "/" + c.coupon_id + "/decide");
      }
      var empty = list.querySelector(".empty");
      if (empty) { empty.hidden = true; }
      list.appendChild(node);
    });
    socket.on("coupon.decided", function (c) {
      var node = list.querySelector(".coupon-request[data-coupon-id='" + c.coupon_id + "']");
      if (node) { node.remove(); }
      if (!list.querySelector(".coupon-request")) {
        var empty = list.querySelector(".empty");
        if (empty) { empty.hidden = false; }
      }
    });
  }

  function setupPanel(panel) {
    var socket = connect();
    if (!socket) { return; }
    var ticketId = panel.getAttribute("data-ticket-id");
    onConnected(socket, function () { socket.emit("coupons.join_ticket", ticketId); });
    socket.on("coupon.decided", function (c) {
      if (String(c.ticket_id) !== ticketId) { return; }
      var current = document.getElementById("coupons");
      fetch(current.getAttribute("data-panel-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#coupons");
          if (fresh) { current.replaceWith(fresh); }
        });
    });
  }

  function init() {
    var list = document.getElementById("coupon-requests");
    if (list) { setupRequests(list); }
    var panel = document.getElementById("coupons");
    if (panel) { setupPanel(panel); }
  }
  // The ticket page loads Socket.IO (and live.js) after this file: wait for the page's scripts.
  function start() {
    if (typeof window.io !== "function" && document.readyState !== "complete") {
      window.addEventListener("load", init, { once: true });
      return;
    }
    init();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
