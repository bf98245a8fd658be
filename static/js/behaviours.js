/* Small page behaviours that used to be inline attributes, so the CSP needs no 'unsafe-inline':
   - <select data-autosubmit> submits its form on change (was onchange="this.form.submit()");
   - <td data-heat="0.42"> sets the --heat CSS variable (was style="--heat: …"). */
(function () {
  "use strict";
  function apply(root) {
    root.querySelectorAll("[data-heat]").forEach(function (el) {
      el.style.setProperty("--heat", el.getAttribute("data-heat"));
    });
  }
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { apply(document); });
  } else { apply(document); }
})();
