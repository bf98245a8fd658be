/* Header customer lookup as you type: GET /search/customers.json?q=... and a small listbox.
   The server sends name_html/detail_html already escaped, with <mark> as the only tag. */
(function () {
  "use strict";
  var form = document.querySelector("form.header-search");
  if (!form) return;
  var input = form.querySelector("input[name=q]");
  var list = form.querySelector(".quick-results");
  var url = form.getAttribute("data-quick-url");
  var timer = null, seq = 0, active = -1;

  function items() { return list.querySelectorAll("li a"); }

  function close() { list.hidden = true; list.innerHTML = ""; active = -1; }

  function select(index) {
    var links = items();
    if (!links.length) return;
    active = (index + links.length) % links.length;
    for (var i = 0; i < links.length; i++) {
      links[i].parentNode.setAttribute("aria-selected", i === active ? "true" : "false");
    }
  }

  function render(data) {
    list.innerHTML = "";
    active = -1;
    (data.customers || []).forEach(function (c) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("data-customer-id", c.id);
      var a = document.createElement("a");
      a.href = c.url;
      a.innerHTML = '<span class="qr-name">' + c.name_html + '</span> <span class="qr-detail">' + c.detail_html + "</span>";
      li.appendChild(a);
      list.appendChild(li);
    });
    if (!list.children.length && input.value.trim()) {
      var empty = document.createElement("li");
      empty.className = "qr-empty";
      empty.textContent = data.unavailable ? "…" : "—";
      list.appendChild(empty);
    }
    list.hidden = !list.children.length;
  }

  function lookup() {
    var q = input.value.trim();
    if (!q) { close(); return; }
    var mine = ++seq;
    fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {customers: []}; })
      .then(function (data) { if (mine === seq) render(data); })
      .catch(function () { if (mine === seq) close(); });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 150);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { select(active + 1); e.preventDefault(); }
    else if (e.key === "ArrowUp") { select(active - 1); e.preventDefault(); }
    else if (e.key === "Escape") { close(); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); window.location = items()[active].href; }
  });
  document.addEventListener("click", function (e) { if (!form.contains(e.target)) close(); });
})();
