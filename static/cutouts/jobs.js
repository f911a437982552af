// The jobs list and the job page: times in the viewer's own time zone, a confirmation before a delete, and
// live progress (re-read the user's jobs every 2 s while any shown job is queued or running).
(function () {
  "use strict";

  // <time datetime="..." data-local>2026-12-02 09:14 UTC</time> (portal/templatetags/times.py) becomes the
  // same moment in the browser's zone, named ("2 Dec 2026, 10:14 CET"); the UTC text stays as its title.
  var format = (window.Intl && Intl.DateTimeFormat) ? new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  }) : null;
  function localTimes(root) {
    if (!format) return;
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = format.format(when);
      el.dataset.localized = "1";
    });
  }
  localTimes(document);

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  var table = document.getElementById("jobs");
  if (!table) return;
  function active() { return table.querySelector('tr[data-state="queued"], tr[data-state="running"]'); }
  function update(job) {
    var row = table.querySelector('tr[data-job="' + job.id + '"]');
    if (!row) return;
    if (row.dataset.state !== job.state && (job.state === "done" || job.state === "failed" || job.state === "cancelled")) {
      window.location.reload(); // actions, size and times change with the state
      return;
    }
    row.dataset.state = job.state;
    var badge = row.querySelector(".state .badge");
    badge.textContent = job.state === "needs_login" ? "needs login" : job.state;
    badge.className = "badge badge-state-" + job.state + " state-" + job.state;
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
