/* Live SLA list (/sla/live): listens to Socket.IO event "sla.changed" (room "supervisors",
   joined by the server's connect handler) and reloads the table body from data-rows-url.
   Without Socket.IO (or JS) the page still works: it also refreshes every 60 s. */
(function () {
  "use strict";
  var table = document.querySelector("table.sla-live[data-rows-url]");
  if (!table) { return; }
  var url = table.getAttribute("data-rows-url");
  var pending = null;

  function refresh() {
    pending = null;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var holder = document.createElement("table");
        holder.innerHTML = html;
        var body = holder.querySelector("tbody");
        var old = table.querySelector("tbody");
        if (body && old) { table.replaceChild(body, old); }
      });
  }

  function schedule() {  // a burst of events becomes one request
    if (!pending) { pending = window.setTimeout(refresh, 300); }
  }

  if (window.io) {
    var socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () { socket.emit("join", { room: "supervisors" }); });
    socket.on("sla.changed", schedule);
  }
  window.setInterval(schedule, 60000);
})();
