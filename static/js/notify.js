/* Notifications when one of this browser's jobs ends (completed or failed), also while its tab is in the
   background. Opt-in: the footer's switch asks the browser's permission; the choice is kept in
   localStorage. "This browser's jobs" are the ones its pages started (the form, Download again, Retry):
   their ids are remembered in localStorage, which every tab of the browser shares. live.js hands over
   every job event it receives (the "audiofetch:live" DOM event); nothing here opens a connection.
   A notification's tag is its job's id, so tabs that see the same end show it once.
   The service worker (<meta name="audiofetch-sw">) is registered only once notifications are on: Chromium
   installs the app without one, and Android's Chrome shows notifications only through one. */
(function () {
  "use strict";

  var KEY_ON = "audiofetch.notify";
  var KEY_MINE = "audiofetch.myJobs";
  var MAX_MINE = 200;
  var ENDED = { completed: true, failed: true };
  var baseMeta = document.querySelector('meta[name="audiofetch-base"]');
  var BASE = baseMeta ? baseMeta.getAttribute("content") || "" : "";
  var shown = new Set();

  function supported() {
    return "Notification" in window;
  }

  function read(key, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return value === null ? fallback : value;
    } catch (err) {
      return fallback; // storage blocked: no notifications
    }
  }

  function write(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (err) {
      /* storage blocked */
    }
  }

  function enabled() {
    return supported() && Notification.permission === "granted" && read(KEY_ON, "off") === "on";
  }

  function registerWorker() {
    var meta = document.querySelector('meta[name="audiofetch-sw"]');
    if (!meta || !("serviceWorker" in navigator) || !window.isSecureContext) return;
    var script = meta.getAttribute("content");
    navigator.serviceWorker.register(script, { scope: script.replace(/sw\.js$/, "") }).catch(function () {
      /* no worker: notifications still work where pages may show them */
    });
  }

  function mine() {
    try {
      var list = JSON.parse(read(KEY_MINE, "[]"));
      return Array.isArray(list) ? list : [];
    } catch (err) {
      return [];
    }
  }

  function remember(jobId) {
    var list = mine().filter(function (id) { return id !== jobId; });
    list.push(jobId);
    write(KEY_MINE, JSON.stringify(list.slice(-MAX_MINE)));
  }

  /* A job started from this page: the answer to the form (POST /jobs) or to a card's again/retry is the
     job's card, which names the job. */
  function noteStarted(event) {
    var ctx = event.detail && event.detail.ctx;
    if (!ctx || !ctx.response || ctx.response.status >= 300 || !ctx.request) return;
    var path;
    try {
      path = new URL(String(ctx.request.action), location.href).pathname;
    } catch (err) {
      return;
    }
    if (!/\/jobs(\/[^/]+\/(again|retry))?$/.test(path)) return;
    var found = /data-job="([^"]+)"/.exec(ctx.text || "");
    if (found) remember(found[1]);
  }

  function words(job) {
    var tracks = (job.tracks || []).filter(function (t) { return t.status !== "skipped"; });
    var totals = job.totals || {};
    var done = totals.tracks_done || 0;
    var failed = totals.tracks_failed || 0;
    var name = job.name || job.title || job.url || "A job";
    var heading;
    if (job.status === "failed") heading = "Failed: " + name;
    else heading = (failed ? "Partly done: " : "Done: ") + name;
    var body = done + " of " + tracks.length + " track" + (tracks.length === 1 ? "" : "s");
    if (failed) body += ", " + failed + " failed";
    if (job.error) body += " · " + job.error;
    return { heading: heading, body: body };
  }

  function show(job) {
    var text = words(job);
    var iconMeta = document.querySelector('link[rel="apple-touch-icon"]');
    var options = {
      body: text.body,
      tag: "audiofetch-job-" + job.id,
      icon: iconMeta ? iconMeta.href : undefined,
      data: { url: location.origin + BASE + "/jobs/" + encodeURIComponent(job.id) }
    };
    try {
      var note = new Notification(text.heading, options);
      note.onclick = function () {
        window.focus();
        location.href = options.data.url;
        note.close();
      };
    } catch (err) {
      // Android's Chrome lets only a service worker show notifications.
      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.ready.then(function (worker) {
          return worker.showNotification(text.heading, options);
        }).catch(function () { /* nothing more to try */ });
      }
    }
  }

  function onLive(event) {
    var message = event.detail;
    if (!message || message.type !== "job.completed" || !message.data) return;
    var job = message.data;
    if (!ENDED[job.status] || shown.has(job.id) || !enabled()) return;
    if (mine().indexOf(job.id) === -1) return;
    shown.add(job.id);
    show(job);
  }

  function setupSwitch() {
    var box = document.getElementById("notify-switch");
    var note = document.getElementById("notify-note");
    if (!box || !supported()) return;
    var holder = box.closest("[hidden]");
    if (holder) holder.hidden = false;
    box.checked = enabled();
    if (box.checked) registerWorker();
    function say(text) {
      if (note) note.textContent = text;
    }
    box.addEventListener("change", function () {
      if (!box.checked) {
        write(KEY_ON, "off");
        say("");
        return;
      }
      Promise.resolve(Notification.requestPermission()).then(function (answer) {
        if (answer === "granted") {
          write(KEY_ON, "on");
          registerWorker();
          say("You will be notified when the jobs you start here end.");
        } else {
          write(KEY_ON, "off");
          box.checked = false;
          say(answer === "denied" ? "Notifications are blocked for this site in the browser's settings." : "");
        }
      });
    });
  }

  document.addEventListener("audiofetch:live", onLive);
  document.addEventListener("htmx:after:request", noteStarted);
  document.addEventListener("DOMContentLoaded", setupSwitch);
})();
