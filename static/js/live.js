/* Tsunagu live workspace: Socket.IO presence, typing and new activity; timeline paging; the
 * composer's reply-check highlighting and macro picker.
 *
 * Socket payloads carry ids only (and agent names, always written with textContent); whatever is
 * shown is fetched as server-rendered HTML through the normal authorised routes. The page works
 * without this file (plain links and forms).
 */
(function () {
  "use strict";

  var i18n = {};
  try { i18n = JSON.parse((document.getElementById("live-i18n") || {}).textContent || "{}"); } catch (e) { i18n = {}; }
  function t(key, fallback, vars) {
    var text = i18n[key] || fallback;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  /* At most one call per `gap` ms: the first event waits `delay` ms (plus up to `jitter` ms at
     random), the events that arrive while a call is pending or within the gap fold into one
     trailing call. A steady stream of inbound mail then costs each open inbox one refetch every
     few seconds, not one per message; the jitter spreads the refetches of the fifty inboxes that
     got the same event, which would otherwise reach the server in the same instant. */
  function throttle(fn, delay, gap, jitter) {
    var timer = null, last = 0;
    return function () {
      if (timer) { return; }
      var wait = Math.max(delay + Math.random() * (jitter || 0), last + gap - Date.now());
      timer = setTimeout(function () { timer = null; last = Date.now(); fn(); }, wait);
    };
  }

  function fetchHTML(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.redirected && /\/login/.test(r.url)) { window.location.href = r.url; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html;  // our own server-rendered, escaped partial
        return tpl.content;
      });
  }

  function withParams(url, params) {
    var u = new URL(url, window.location.href);
    Object.keys(params).forEach(function (k) { u.searchParams.set(k, params[k]); });
    return u.toString();
  }

  var view = document.querySelector(".ticket-view[data-ticket-id]");
  var inboxLayout = document.querySelector("[data-inbox-layout]");
  var customerView = document.querySelector(".customer-view[data-customer-id]");
  var ticketId = view ? Number(view.getAttribute("data-ticket-id")) : null;
  var customerId = view ? Number(view.getAttribute("data-customer-id")) :
    (customerView ? Number(customerView.getAttribute("data-customer-id")) : null);

  /* ---- timeline: live entries ------------------------------------------------------------ */

  function focusedEntries() { return view && view.querySelector(".tl-group.focused .tl-entries"); }

  function remember(node) {
    var m = node.getAttribute && node.getAttribute("data-message-id");
    var ev = node.getAttribute && node.getAttribute("data-event-id");
    if (m && Number(m) > Number(view.dataset.lastMessageId || 0)) { view.dataset.lastMessageId = m; }
    if (ev && Number(ev) > Number(view.dataset.lastEventId || 0)) { view.dataset.lastEventId = ev; }
  }

  var pulling = false, pullAgain = false;
  function pullNewEntries() {
    if (!view) { return; }
    if (pulling) { pullAgain = true; return; }
    pulling = true;
    var url = withParams(view.dataset.entriesUrl, {
      after: view.dataset.lastMessageId || 0, after_event: view.dataset.lastEventId || 0 });
    fetchHTML(url).then(function (fragment) {
      var box = focusedEntries();
      Array.prototype.slice.call(fragment.children).forEach(function (node) {
        if (node.id && document.getElementById(node.id)) { remember(node); return; }
        if (!node.id && node.getAttribute("data-event-id") &&
            box.querySelector('[data-event-id="' + node.getAttribute("data-event-id") + '"]')) { return; }
        node.classList.add("entry-new");
        box.appendChild(node);
        remember(node);
      });
    }).catch(function () { /* the next event retries */ }).then(function () {
      pulling = false;
      if (pullAgain) { pullAgain = false; pullNewEntries(); }
    });
  }

  function refreshMessage(messageId) {
    var old = document.getElementById("m" + messageId);
    if (!view || !old) { return; }
    fetchHTML(withParams(view.dataset.entriesUrl, { message_id: messageId })).then(function (fragment) {
      var fresh = fragment.firstElementChild;
      if (fresh && old.parentNode) { old.parentNode.replaceChild(fresh, old); }
    }).catch(function () {});
  }

  function refreshOtherTicket(otherId) {
    var url = view.dataset.groupUrl.replace(/\/0\/timeline\/group$/, "/" + otherId + "/timeline/group");
    fetchHTML(url).then(function (fragment) {
      var fresh = fragment.querySelector(".tl-group");
      if (!fresh) { return; }
      var others = view.querySelector(".tl-others");
      var old = others.querySelector('.tl-group[data-ticket-id="' + otherId + '"]');
      if (old) { others.replaceChild(fresh, old); } else { others.insertBefore(fresh, others.firstChild); }
      var title = view.querySelector(".others-title");
      if (title) { title.hidden = false; }
    }).catch(function () {});
  }

  /* ---- timeline: older entries -------------------------------------------------------------- */

  var root = view || customerView;
  var loading = false;
  function loadOlder(button) {
    if (loading || !root) { return; }
    loading = true;
    var url = withParams(root.dataset.olderUrl, { before: button.dataset.before });
    fetchHTML(url).then(function (fragment) {
      var wrapper = fragment.querySelector(".tl-older");
      Array.prototype.slice.call(wrapper.querySelectorAll(".tl-group")).forEach(function (group) {
        var id = group.getAttribute("data-ticket-id");
        var existing = root.querySelector('.tl-group[data-ticket-id="' + id + '"] .tl-entries');
        if (existing) {
          var entries = group.querySelector(".tl-entries");
          while (entries.lastElementChild) {
            var node = entries.lastElementChild;
            if (node.id && document.getElementById(node.id)) { entries.removeChild(node); continue; }
            existing.insertBefore(node, existing.firstChild);
          }
        } else {
          root.querySelector(".tl-others").appendChild(group);
        }
      });
      if (wrapper.dataset.hasMore) { button.dataset.before = wrapper.dataset.before; }
      else { button.parentNode.removeChild(button); }
    }).catch(function () {}).then(function () { loading = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-load-older]");
    if (button) { event.preventDefault(); loadOlder(button); }
  });
  var older = document.querySelector("[data-load-older]");
  if (older && "IntersectionObserver" in window) {
    new IntersectionObserver(function (items) {
      items.forEach(function (item) {
        var b = document.querySelector("[data-load-older]");
        if (item.isIntersecting && b) { loadOlder(b); }
      });
    }, { rootMargin: "200px" }).observe(older.parentNode);
  }

  /* ---- inbox ---------------------------------------------------------------------------- */

  var refreshInbox = throttle(function () {
    var layout = document.querySelector("[data-inbox-layout]");
    if (!layout) { return; }
    fetchHTML(layout.dataset.partialUrl).then(function (fragment) {
      var fresh = fragment.querySelector("[data-inbox-layout]");
      if (!fresh) { return; }
      layout.parentNode.replaceChild(fresh, layout);
      document.dispatchEvent(new CustomEvent("tsunagu:inbox-refreshed"));
    }).catch(function () {});
  }, 300, 3000, 700);

  /* Counts, SLA badges and the cancellation list catch up with a rare full refetch; the rows
     themselves are updated in place from the event (applyInboxChange). */
  var reconcileInbox = throttle(function () { refreshInbox(); }, 2000, 30000, 2000);

  function badge(kind, name, labels) {
    var span = document.createElement("span");
    span.className = "badge " + kind + " " + kind + "-" + name;
    span.textContent = (labels && labels[name]) || name;
    return span;
  }

  var timeFormats = {};
  function shopTime(iso, tz) {  /* yyyy-MM-dd HH:mm in the shop's zone, as the |datetime filter */
    if (!timeFormats[tz]) {
      timeFormats[tz] = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    }
    var p = {};
    timeFormats[tz].formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  var FLAGGED_LIMIT = 10;  /* app/tickets/queries.py flagged_tickets(limit=10) */

  function belongsInInbox(layout, data, labels) {
    var row = data.row, d = layout.dataset;
    var status = d.status || "";
    if (status === "" ? labels.open.indexOf(row.status) < 0 : (status !== "all" && status !== row.status)) {
      return false;
    }
    if (d.channel && d.channel !== row.channel) { return false; }
    if (d.mine && String(row.assignee_id) !== d.me) { return false; }
    return true;
  }

  /* The row of _inbox_layout.html, built from the event's `row` (text only: textContent). */
  function buildRow(layout, data, labels, old) {
    var row = data.row, href = layout.dataset.ticketUrl.replace(/0$/, String(data.ticket_id));
    var tr = document.createElement("tr");
    tr.className = "ticket-row st-" + row.status + " pr-" + row.priority;
    tr.setAttribute("data-ticket-id", data.ticket_id);
    tr.setAttribute("data-customer-id", data.customer_id);
    function cell(cls) {
      var td = document.createElement("td");
      if (cls) { td.className = cls; }
      tr.appendChild(td);
      return td;
    }
    function link(td, text) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    }
    link(cell("num"), String(data.ticket_id));
    var subject = cell("subject");
    link(subject, row.subject || labels.no_subject);
    var intentKind = {cancellation: "cancellation", possible_cancellation: "maybe", skip: "skip"}[row.intent];
    if (intentKind && labels[intentKind]) {
      subject.appendChild(document.createTextNode(" "));
      var intent = badge("intent", intentKind);
      intent.textContent = labels[intentKind];
      subject.appendChild(intent);
    }
    var sla = old && old.querySelector(".sla-badge");
    if (sla) { subject.appendChild(document.createTextNode(" ")); subject.appendChild(sla); }
    cell("customer").textContent = row.customer;
    cell().appendChild(badge("ch", row.channel, labels.channel));
    cell().appendChild(badge("st", row.status, labels.status));
    cell().appendChild(badge("pr", row.priority, labels.priority));
    var assignee = cell("assignee");
    if (row.assignee) {
      assignee.textContent = row.assignee;
    } else {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = "—";
      assignee.appendChild(none);
    }
    var time = document.createElement("time");
    time.setAttribute("datetime", row.last_activity_at);
    time.textContent = shopTime(row.last_activity_at, layout.dataset.tz);
    cell("time").appendChild(time);
    return tr;
  }

  /* Apply one `inbox.changed` to the open inbox: the ticket's row moves to the top (the list is
     newest activity first), appears, or leaves the list, without asking the server. Anything this
     cannot decide locally (later pages, an empty list, the cancellation list) refetches. */
  function applyInboxChange(data) {
    var layout = document.querySelector("[data-inbox-layout]");
    if (!layout) { return; }
    var labelsNode = layout.querySelector("[data-row-labels]");
    var tbody = layout.querySelector("table.tickets tbody");
    var delivery = (data.changes || []).indexOf("delivery") >= 0;  /* red rows and the failed count */
    if (delivery || !data.row || !labelsNode || !tbody || layout.dataset.page !== "1") { refreshInbox(); return; }
    var labels = JSON.parse(labelsNode.textContent);
    var selector = '[data-ticket-id="' + data.ticket_id + '"]';
    var old = tbody.querySelector("tr.ticket-row" + selector);
    var belongs = belongsInInbox(layout, data, labels);
    var flagged = !!layout.querySelector(".flagged li" + selector);
    /* Any change to a pinned or would-be pinned ticket refetches: whether it stays pinned depends on
       its case outcome and the customer's other requests (one row per customer), known server-side. */
    var wantsFlag = belongs && data.row.intent === "cancellation" && (data.row.status === "new" || data.row.status === "open");
    /* The list shows the FLAGGED_LIMIT oldest requests: a newer one joins only a list not yet full. */
    var full = layout.querySelectorAll(".flagged li").length >= FLAGGED_LIMIT;
    if (flagged || (wantsFlag && !full)) { refreshInbox(); return; }
    if (old) { old.parentNode.removeChild(old); }
    if (belongs) {
      tbody.insertBefore(buildRow(layout, data, labels, old), tbody.firstChild);
      var rows = tbody.querySelectorAll("tr.ticket-row"), max = parseInt(layout.dataset.perPage, 10) || 50;
      for (var i = rows.length - 1; i >= max; i--) { rows[i].parentNode.removeChild(rows[i]); }
    }
    reconcileInbox();
    document.dispatchEvent(new CustomEvent("tsunagu:inbox-refreshed"));
  }

  /* ---- presence --------------------------------------------------------------------------- */

  function renderPresence(viewers, myId) {
    var box = view && view.querySelector("[data-presence]");
    if (!box) { return; }
    box.textContent = "";
    var others = (viewers || []).filter(function (v) { return v.agent_id !== myId; });
    if (!others.length) { return; }
    var viewing = document.createElement("span");
    viewing.className = "presence-viewing";
    viewing.textContent = t("viewing", "{names} viewing", {
      names: others.map(function (v) { return v.name; }).join(t("sep", ", ")) });
    box.appendChild(viewing);
    others.filter(function (v) { return v.typing; }).forEach(function (v) {
      var typing = document.createElement("span");
      typing.className = "presence-typing";
      typing.textContent = t("typing", "{name} is typing…", { name: v.name });
      box.appendChild(typing);
    });
  }

  /* ---- socket ----------------------------------------------------------------------------- */

  var socket = null, myId = null;
  if ((view || inboxLayout) && window.io) {
    socket = window.io();
    socket.on("hello", function (data) { myId = data.agent_id; });
    socket.on("connect", function () {
      if (ticketId) {
        socket.emit("ticket.join", { ticket_id: ticketId }, function () { pullNewEntries(); });
      }
    });
    socket.on("session.ended", function () { window.location.href = "/login"; });
    socket.on("presence", function (data) {
      if (data.ticket_id === ticketId) { renderPresence(data.viewers, myId); }
    });
    socket.on("message.new", function (data) {
      if (data.ticket_id === ticketId) { pullNewEntries(); }
    });
    socket.on("ticket.changed", function (data) {
      if (data.ticket_id !== ticketId) { return; }
      pullNewEntries();
      fetchHTML(view.dataset.headUrl).then(function (fragment) {
        var fresh = fragment.querySelector(".head-badges"), old = view.querySelector(".head-badges");
        if (fresh && old) { old.parentNode.replaceChild(fresh, old); }
      }).catch(function () {});
    });
    socket.on("ticket.revoked", function (data) {
      if (data.ticket_id === ticketId) { showRevoked(); }
    });
    socket.on("message.status", function (data) {
      if (data.ticket_id === ticketId) { refreshMessage(data.message_id); }
    });
    socket.on("delivery.alert", function (data) { showDeliveryAlert(data); });
    socket.on("inbox.changed", function (data) {
      if (document.querySelector("[data-inbox-layout]")) { applyInboxChange(data); }
      if (view && data.customer_id === customerId && data.ticket_id !== ticketId) {
        refreshOtherTicket(data.ticket_id);
      }
    });
    window.Tsunagu = window.Tsunagu || {};
    window.Tsunagu.socket = socket;
  }

  /* The ticket moved out of my reach (reassigned to another team, my role changed): the server has
     stopped sending its updates, so the page says so and its forms stop posting (the server would
     refuse them anyway). */
  function showRevoked() {
    if (!view || view.querySelector("[data-revoked]")) { return; }
    var box = document.createElement("p");
    box.setAttribute("data-revoked", "");
    box.className = "revoked-banner";
    box.setAttribute("role", "alert");
    box.textContent = t("revoked", "You can no longer see this ticket: it was moved out of your reach. Updates have stopped.");
    view.insertBefore(box, view.firstChild);
    Array.prototype.forEach.call(view.querySelectorAll("form button, form input, form textarea, form select"), function (el) {
      if (el.type !== "hidden") { el.disabled = true; }
    });
    renderPresence([], myId);
  }

  /* A reply of mine did not reach the customer: a banner (role=alert) linking to the message. */
  function showDeliveryAlert(data) {
    var box = document.querySelector("[data-delivery-alerts]");
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("data-delivery-alerts", "");
      box.className = "delivery-alerts";
      box.setAttribute("role", "alert");
      document.body.insertBefore(box, document.body.firstChild);
    }
    var line = document.createElement("p");
    line.className = "delivery-alert-line dl-" + data.status;
    var link = document.createElement("a");
    link.href = "/tickets/" + Number(data.ticket_id) + "#m" + Number(data.message_id);
    link.textContent = t(data.status === "failed" ? "delivery_failed" : "delivery_unverified",
                         data.status === "failed" ? "Your reply on ticket #{id} could not be delivered."
                                                  : "Your reply on ticket #{id} may not have arrived: check it.",
                         { id: String(Number(data.ticket_id)) });
    line.appendChild(link);
    box.appendChild(line);
    if (data.ticket_id === ticketId) { refreshMessage(data.message_id); }
  }

  /* ---- typing --------------------------------------------------------------------------- */

  var replyBox = view && view.querySelector("textarea.reply-body");
  if (replyBox && socket) {
    var typing = false;
    var stop = debounce(function () {
      if (typing) { typing = false; socket.emit("ticket.typing", { ticket_id: ticketId, typing: false }); }
    }, 2500);
    replyBox.addEventListener("input", function () {
      if (!typing) { typing = true; socket.emit("ticket.typing", { ticket_id: ticketId, typing: true }); }
      stop();
    });
    replyBox.addEventListener("blur", function () {
      if (typing) { typing = false; socket.emit("ticket.typing", { ticket_id: ticketId, typing: false }); }
    });
  }

  /* ---- reply check (薬機法 / 景表法 dictionary) ----------------------------------------------- */

  var terms = [];
  try { terms = JSON.parse((document.getElementById("reply-check-terms") || {}).textContent || "[]"); } catch (e) { terms = []; }
  function norm(s) {
    return Array.prototype.map.call(s, function (ch) { return (ch.normalize("NFKC").toLowerCase()[0]) || ch; }).join("");
  }
  var normTerms = terms.map(function (term) { return { term: term, n: norm(term), latin: /^[a-z0-9]/.test(norm(term)) }; })
    .sort(function (a, b) { return b.n.length - a.n.length; });

  function findHits(text) {
    var hay = norm(text), hits = [];
    normTerms.forEach(function (term) {
      var from = 0, at;
      while (term.n && (at = hay.indexOf(term.n, from)) !== -1) {
        from = at + term.n.length;
        if (term.latin && at > 0 && /[a-z0-9]/.test(hay[at - 1])) { continue; }
        var overlaps = hits.some(function (h) { return h.start < at + term.n.length && at < h.end; });
        if (!overlaps) { hits.push({ term: term.term, start: at, end: at + term.n.length }); }
      }
    });
    return hits.sort(function (a, b) { return a.start - b.start; });
  }

  function renderCheck(box, text) {
    var out = box.form && box.form.querySelector("[data-reply-check-out]");
    if (!out) { return; }
    var hits = findHits(text);
    out.textContent = "";
    out.hidden = !hits.length;
    if (!hits.length) { return; }
    var title = document.createElement("p");
    title.className = "reply-check-title";
    title.textContent = t("check_title", "Wording to check (薬機法 / 景表法):") + " ";
    var seen = {};
    hits.forEach(function (h) {
      if (seen[h.term]) { return; }
      seen[h.term] = true;
      var mark = document.createElement("mark");
      mark.textContent = h.term;
      title.appendChild(mark);
      title.appendChild(document.createTextNode(" "));
    });
    out.appendChild(title);
    // Only the lines with a hit, so a long reply's warning stays short.
    var preview = document.createElement("div");
    preview.className = "reply-check-preview";
    var lineStart = 0;
    text.split("\n").forEach(function (line) {
      var lineEnd = lineStart + line.length;
      var inLine = hits.filter(function (h) { return h.start >= lineStart && h.start < lineEnd; });
      if (inLine.length) {
        var row = document.createElement("div");
        var pos = lineStart;
        inLine.forEach(function (h) {
          row.appendChild(document.createTextNode(text.slice(pos, h.start)));
          var mark = document.createElement("mark");
          mark.textContent = text.slice(h.start, Math.min(h.end, lineEnd));
          row.appendChild(mark);
          pos = Math.min(h.end, lineEnd);
        });
        row.appendChild(document.createTextNode(text.slice(pos, lineEnd)));
        preview.appendChild(row);
      }
      lineStart = lineEnd + 1;
    });
    out.appendChild(preview);
  }

  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-reply-check]"), function (box) {
    var update = debounce(function () { renderCheck(box, box.value); }, 150);
    box.addEventListener("input", update);
    if (box.value) { renderCheck(box, box.value); }
  });

  /* ---- macro picker ------------------------------------------------------------------------- */

  var picker = document.querySelector("[data-macro-picker]");
  var target = document.querySelector("textarea[data-macro-target]");
  var macros = null, active = 0, slashAt = -1, pendingEnter = false;

  function pickerItems() { return picker.querySelectorAll(".macro-list li[data-id]"); }

  function drawMacros() {
    var q = norm(picker.querySelector(".macro-filter").value.trim());
    var list = picker.querySelector(".macro-list");
    list.textContent = "";
    var shown = (macros || []).filter(function (m) { return !q || norm(m.title + " " + m.preview).indexOf(q) !== -1; });
    shown.forEach(function (m, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.id = m.id;
      li.className = i === active ? "active" : "";
      var title = document.createElement("strong");
      title.textContent = m.title;
      var lang = document.createElement("span");
      lang.className = "badge";
      lang.textContent = m.language;
      var prev = document.createElement("span");
      prev.className = "muted small";
      prev.textContent = " " + m.preview.replace(/\s+/g, " ").slice(0, 60);
      li.appendChild(lang); li.appendChild(document.createTextNode(" ")); li.appendChild(title); li.appendChild(prev);
      list.appendChild(li);
    });
    if (!shown.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = t("no_macros", "No macros match.");
      list.appendChild(none);
    }
  }

  function openPicker(fromSlash) {
    if (!picker || !target) { return; }
    slashAt = fromSlash ? target.selectionStart - 1 : -1;
    picker.hidden = false;
    active = 0;
    var filter = picker.querySelector(".macro-filter");
    filter.value = "";
    filter.focus();
    if (macros === null) {
      fetch(picker.dataset.listUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (data) { macros = data; drawMacros(); }).catch(function () { macros = []; drawMacros(); })
        .then(function () {
          var first = pickerItems()[active];
          if (pendingEnter && first) { insertMacro(first.dataset.id); }
          pendingEnter = false;
        });
    } else { drawMacros(); }
  }

  function closePicker() {
    if (!picker) { return; }
    picker.hidden = true;
    if (target) { target.focus(); }
  }

  function insertMacro(id) {
    var url = picker.dataset.renderUrl.replace(/\/0\/render$/, "/" + id + "/render");
    fetch(withParams(url, { ticket_id: ticketId }), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var start = target.selectionStart, end = target.selectionEnd, value = target.value;
        if (slashAt >= 0 && value[slashAt] === "/") { start = slashAt; end = Math.max(end, slashAt + 1); }
        target.value = value.slice(0, start) + data.text + value.slice(end);
        var caret = start + data.text.length;
        picker.hidden = true;
        target.focus();
        target.setSelectionRange(caret, caret);
        target.dispatchEvent(new Event("input", { bubbles: true }));
        if (data.missing && data.missing.length) {  /* e.g. no coupon yet: {coupon_code} stays, say so */
          var first = data.text.indexOf("{" + data.missing[0] + "}");
          if (first >= 0) { target.setSelectionRange(start + first, start + first + data.missing[0].length + 2); }
          window.alert(t("macro_missing", "No value for {names}: fill it in or remove it before sending.",
                         { names: data.missing.map(function (n) { return "{" + n + "}"; }).join(" ") }));
        }
      }).catch(function () { closePicker(); });
  }

  if (picker && target) {
    document.querySelector("[data-macro-open]").addEventListener("click", function () { openPicker(false); });
    target.addEventListener("keyup", function (event) {
      if (event.key !== "/") { return; }
      var pos = target.selectionStart;
      var before = target.value.slice(0, pos - 1);
      if (before === "" || before.slice(-1) === "\n") { openPicker(true); }
    });
    var filter = picker.querySelector(".macro-filter");
    filter.addEventListener("input", function () { active = 0; drawMacros(); });
    filter.addEventListener("keydown", function (event) {
      var items = pickerItems();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = Math.max(0, Math.min(items.length - 1, active + (event.key === "ArrowDown" ? 1 : -1)));
        drawMacros();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (macros === null) { pendingEnter = true; return; }  // inserted once the list arrives
        if (items[active]) { insertMacro(items[active].dataset.id); }
      } else if (event.key === "Escape") {
        event.preventDefault();
        closePicker();
      }
    });
    picker.addEventListener("click", function (event) {
      var li = event.target.closest("li[data-id]");
      if (li) { insertMacro(li.dataset.id); }
    });
  }
})();
