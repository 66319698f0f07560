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
  // A choice that changes what the page is about (the bulk-link page's integration): show it at once, so the
  // buttons below act on what is shown; without JavaScript the form's own button does it, and every action
  // names the integration it acts on.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // "More line rows" on the invoice form: add empty rows in place (what was typed stays); without JavaScript
  // the button posts the form and the page comes back with the same values and more rows.
  document.querySelectorAll("button[data-more-rows]").forEach(function (button) {
    var body = button.form && button.form.querySelector("table.invoice-lines tbody");
    if (!body) return;
    var max = parseInt(button.dataset.maxRows, 10);
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var rows = body.querySelectorAll("tr");
      var template = rows[rows.length - 1];
      for (var n = 0; n < parseInt(button.dataset.moreRows, 10) && body.querySelectorAll("tr").length < max; n++) {
        var i = body.querySelectorAll("tr").length;
        var row = template.cloneNode(true);
        row.querySelectorAll("[id], [for], [name], [aria-describedby]").forEach(function (el) {
          ["id", "for", "name", "aria-describedby"].forEach(function (attr) {
            var v = el.getAttribute(attr);
            if (v) el.setAttribute(attr, v.replace(/line-\d+-/g, "line-" + i + "-"));
          });
          if (el.tagName === "LABEL") el.textContent = el.textContent.replace(/Line \d+/, "Line " + (i + 1));
          if (el.tagName === "INPUT") { el.value = ""; el.removeAttribute("aria-invalid"); }
        });
        row.querySelectorAll(".field-errors").forEach(function (el) { el.remove(); });
        row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
        body.appendChild(row);
      }
      if (body.querySelectorAll("tr").length >= max) button.hidden = true;
      var first = body.querySelectorAll("tr")[rows.length];
      if (first) first.querySelector("input").focus();
    });
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
