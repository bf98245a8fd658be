/* Reports: draws each <canvas data-chart="bar|doughnut" data-source="ID"> with the vendored
   Chart.js from the JSON in <script type="application/json" id="ID">. The table beside each chart
   holds the same figures, so the page says everything without JavaScript. */
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var palette = ["#3538cd", "#12b76a", "#f79009", "#c11574", "#0ba5ec", "#667085"];
  document.querySelectorAll("canvas[data-chart][data-source]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-source"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var type = canvas.getAttribute("data-chart");
    data.datasets.forEach(function (ds, i) {
      ds.backgroundColor = type === "doughnut" ? ["#12b76a", "#98a2b3", "#f04438"] : palette[i % palette.length];
    });
    new window.Chart(canvas, {
      type: type,
      data: data,
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } } }
    });
  });
})();
