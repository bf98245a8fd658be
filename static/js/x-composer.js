/* X composer: a live weighted character count on every <textarea data-x-composer>.
 *
 * Counts exactly as X does with the vendored twitter-text v3 library (window.twttr.txt.parseTweet):
 * CJK and full-width characters weigh 2, a URL 23, an emoji sequence 2, 280 at most. The server
 * applies the same rule (app/channels/x/text.py); this is only the early warning.
 * Optional attributes on the textarea: data-x-composer-counter="#id" (where to write the count),
 * data-x-composer-block-submit (disable the form's submit buttons while over the limit).
 * The counter reads in characters as people count them ("140 characters · 0 more full-width
 * characters fit"), with the weighted count beside it as the rule.
 */
(function () {
  "use strict";
  var MAX = 280;

  function messages() {
    var node = document.getElementById("x-composer-i18n");
    var defaults = { chars: "{n} characters", left: "{n} more full-width characters fit",
                     over: "Too long for X: remove about {n} full-width characters",
                     weighted: "X count {n} / 280 (full-width characters count 2)" };
    if (!node) return defaults;
    try { return Object.assign(defaults, JSON.parse(node.textContent)); } catch (e) { return defaults; }
  }

  function format(template, n) { return template.replace("{n}", String(n)); }

  // Characters as a person counts them: one per grapheme (an emoji family is one), not UTF-16 units.
  function characters(value) {
    if (window.Intl && Intl.Segmenter) {
      var n = 0, it = new Intl.Segmenter("ja", { granularity: "grapheme" }).segment(value)[Symbol.iterator]();
      while (!it.next().done) { n++; }
      return n;
    }
    return Array.from(value).length;
  }

  function counterFor(textarea) {
    var selector = textarea.getAttribute("data-x-composer-counter");
    var counter = selector ? document.querySelector(selector) : null;
    if (!counter) {
      counter = document.createElement("div");
      textarea.insertAdjacentElement("afterend", counter);
    }
    counter.classList.add("x-composer-count");
    counter.setAttribute("aria-live", "polite");
    return counter;
  }

  function attach(textarea) {
    if (textarea.__xComposer || !window.twttr || !window.twttr.txt) return;
    var text = messages();
    var counter = counterFor(textarea);
    function update() {
      var parsed = window.twttr.txt.parseTweet(textarea.value || "");
      var length = parsed.weightedLength;
      var over = length > MAX;
      // What the agent reads: characters as people count them, and how many more full-width
      // characters fit (X weighs those 2); the weighted count stays visible as the rule.
      counter.textContent = format(text.chars, characters(textarea.value || "")) + " · " +
        (over ? format(text.over, Math.ceil((length - MAX) / 2)) : format(text.left, Math.floor((MAX - length) / 2))) +
        " · " + format(text.weighted, length);
      counter.dataset.weighted = String(length);
      counter.classList.toggle("over", over);
      textarea.classList.toggle("x-over", over);
      textarea.setAttribute("aria-invalid", over ? "true" : "false");
      if (textarea.hasAttribute("data-x-composer-block-submit") && textarea.form) {
        textarea.form.querySelectorAll("[type=submit]").forEach(function (b) { b.disabled = over; });
      }
    }
    textarea.addEventListener("input", update);
    textarea.addEventListener("change", update);  // text set by a script (macros) that fires change
    textarea.__xComposer = { update: update };
    update();
  }

  function attachAll(root) {
    (root || document).querySelectorAll("textarea[data-x-composer]").forEach(attach);
  }

  window.tsunaguXComposer = { attach: attach, attachAll: attachAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attachAll(); });
  } else {
    attachAll();
  }
})();
