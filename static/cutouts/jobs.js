// Live progress: re-read the user's jobs every 2 s while any shown job is queued or running.
(function () {
  "use strict";
  var table = document.getElementById("jobs");
  if (!table) return;
  function active() { return table.querySelector('tr[data-state="queued"], tr[data-state="running"]'); }
  function update(job) {
    var row = table.querySelector('tr[data-job="' + job.id + '"]');
    if (!row) return;
    if (row.dataset.state !== job.state && (job.state === "done" || job.state === "failed" || job.state === "cancelled")) {
      window.location.reload(); // actions and size change with the state
      return;
    }
    row.dataset.state = job.state;
    var badge = row.querySelector(".state .badge");
    badge.textContent = job.state;
    badge.className = "badge state-" + job.state;
    var bar = row.querySelector("progress");
    bar.max = Math.max(job.progress.blocks_total, 1);
    bar.value = job.progress.blocks_done;
    row.querySelector(".progress-text").textContent =
      job.progress.blocks_done + "/" + (job.progress.blocks_total || "?") + " blocks";
  }
  function poll() {
    if (!active()) return;
    fetch("/api/cutouts/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { jobs: [] }; })
      .then(function (body) { body.jobs.forEach(update); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
