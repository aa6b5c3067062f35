/* AudioFetch page behaviour htmx cannot express: the hidden login, starting a browser-mode ZIP download,
   keeping one card per job, and marking fields that carry an error. No inline script anywhere (CSP). */
(function () {
  "use strict";

  var started = new Set(); // ZIP runs this tab already opened (a second open would get 409)
  var startedJobs = new Set();

  function startDownload(card) {
    // The URL names the run (?run=...): "Download again" on the same job is a new one.
    var url = card.getAttribute("data-autostart");
    var jobId = card.getAttribute("data-job");
    card.removeAttribute("data-autostart");
    if (!url || started.has(url)) return;
    started.add(url);
    startedJobs.add(jobId);
    var link = document.createElement("a");
    link.href = url;
    link.download = "";
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    hideZipLink(card);
  }

  function hideZipLink(card) {
    if (!startedJobs.has(card.getAttribute("data-job"))) return;
    var link = card.querySelector("[data-role=zip-link]");
    if (link) {
      var note = document.createElement("span");
      note.className = "hint";
      note.textContent = "The ZIP download has started.";
      link.replaceWith(note);
    }
  }

  /* One card per job: the newest copy (first in the list) wins. */
  function dedupeCards(root) {
    var seen = new Set();
    (root || document).querySelectorAll(".job-card[data-job]").forEach(function (card) {
      var id = card.getAttribute("data-job");
      if (seen.has(id)) card.remove();
      else seen.add(id);
    });
  }

  function markInvalidFields() {
    document.querySelectorAll(".field-error").forEach(function (line) {
      var text = line.textContent.trim();
      document.querySelectorAll('[aria-describedby~="' + line.id + '"]').forEach(function (control) {
        if (text) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      });
    });
  }

  /* Everything to do after new HTML arrived, by htmx or by live.js. */
  function afterNewContent() {
    dedupeCards(document.getElementById("jobs"));
    document.querySelectorAll(".job-card[data-autostart]").forEach(startDownload);
    document.querySelectorAll(".job-card").forEach(hideZipLink);
    markInvalidFields();
    var firstError = document.querySelector(".field-error:not(:empty)");
    if (firstError && firstError.dataset.announced !== firstError.textContent) {
      firstError.dataset.announced = firstError.textContent;
      firstError.setAttribute("role", "alert");
    }
  }

  function revealLogin() {
    var login = document.getElementById("login");
    if (!login) return;
    login.hidden = false;
    var password = document.getElementById("password");
    if (password) password.focus();
  }

  /* A preview belongs to the address it was made for: editing the address drops it. */
  function dropStalePreview() {
    var previewed = document.querySelector("#preview input[name=previewed]");
    var url = document.getElementById("url");
    if (previewed && url && previewed.value !== url.value.trim()) {
      document.getElementById("preview").innerHTML = "";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var title = document.getElementById("site-title");
    if (title) title.addEventListener("dblclick", revealLogin);
    var url = document.getElementById("url");
    if (url) url.addEventListener("input", dropStalePreview);
    document.body.addEventListener("htmx:after:swap", afterNewContent);
    document.body.addEventListener("htmx:after:settle", afterNewContent);
    afterNewContent();
  });

  window.AudioFetch = { afterNewContent: afterNewContent };
})();
