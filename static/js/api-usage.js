// Charts of the API usage page: requests and errors per day, and latency (average and p95) per day.
// The data comes from the page's json_script block; the CSP allows no inline script.
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("usage-chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var common = { responsive: true, interaction: { mode: "index", intersect: false },
                   scales: { y: { beginAtZero: true } } };

    new window.Chart(document.getElementById("usage-requests-chart"), {
      type: "bar",
      data: { labels: data.days, datasets: [
        { label: "Requests", data: data.requests, backgroundColor: "rgba(13, 110, 253, 0.6)" },
        { label: "Errors", data: data.errors, backgroundColor: "rgba(220, 53, 69, 0.7)" }
      ] },
      options: common
    });
    new window.Chart(document.getElementById("usage-latency-chart"), {
      type: "line",
      data: { labels: data.days, datasets: [
        { label: "Average latency (ms)", data: data.latency_avg, borderColor: "#198754", tension: 0.2 },
        { label: "p95 latency (ms, bucket bound)", data: data.latency_p95, borderColor: "#fd7e14", tension: 0.2 }
      ] },
      options: common
    });
    document.getElementById("usage-requests-chart").dataset.rendered = "true";
    document.getElementById("usage-latency-chart").dataset.rendered = "true";
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
