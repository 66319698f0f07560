// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // "+ New custom field…" inside a dropdown: show the name input only while that option is chosen.
  document.querySelectorAll("select[data-new-field]").forEach(function (select) {
    var box = document.getElementById(select.dataset.newField);
    if (!box) return;
    var sync = function () { box.hidden = select.value !== "__new__"; };
    select.addEventListener("change", function () { sync(); if (!box.hidden) box.querySelector("input").focus(); });
    sync();
  });
  // Live status: poll a run until it is final, update progress, then reload the page to show the outcome.
  document.querySelectorAll("[data-poll]").forEach(function (el) {
    var url = el.dataset.poll;
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (run) {
          if (!run) return;
          var text = document.getElementById("run-progress-text");
          var bar = document.getElementById("run-progress");
          var status = document.getElementById("run-status");
          if (text) text.textContent = run.progress_done + " of " + run.progress_total;
          if (bar) { bar.max = run.progress_total || 1; bar.value = run.progress_done; }
          if (status) status.textContent = run.label || run.status;
          if (run.finished) { window.location.reload(); } else { setTimeout(tick, 800); }
        })
        .catch(function () { setTimeout(tick, 2000); });
    };
    setTimeout(tick, 500);
  });
})();
