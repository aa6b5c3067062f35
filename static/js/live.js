/* Live job updates: the WebSocket /ws first, Server-Sent Events /api/events when it cannot connect.

   The server sends JSON events ({id, type, job_id, data}); htmx swaps HTML, so this file does the rest:
   progress events move the bars in place, every other event reloads the job's card (/jobs/ID/card).
   After a cut it reconnects with the last event id seen, so missed events are replayed (or a snapshot
   is sent). The footer says only "Live" or "Reconnecting"; body[data-live] tells tests "ws" or "sse".
   Every URL starts with the base path from <meta name="audiofetch-base"> (AUDIOFETCH_BASE_PATH). */
(function () {
  "use strict";

  var baseMeta = document.querySelector('meta[name="audiofetch-base"]');
  var BASE = baseMeta ? baseMeta.getAttribute("content") || "" : "";
  var TYPES = ["job.created", "job.status", "job.tracks", "track.progress", "job.completed",
    "job.deleted", "job.snapshot"];
  var lastEventId = null;
  var useSse = false;
  var retryDelay = 1000;
  var retryTimer = null;
  var speeds = new Map(); // job id -> Map(track index -> bytes per second)
  var refreshing = new Map(); // job id -> {busy, again}

  function setState(state) {
    document.body.setAttribute("data-live", state);
    var label = document.getElementById("live-state");
    if (label) label.textContent = state === "offline" ? "Reconnecting…" : "Live";
  }

  function query() {
    var params = new URLSearchParams();
    var job = document.body.getAttribute("data-live-job");
    if (job) params.set("job", job);
    if (lastEventId !== null) params.set("last_event_id", String(lastEventId));
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function scheduleReconnect() {
    setState("offline");
    if (retryTimer) return;
    retryTimer = setTimeout(function () {
      retryTimer = null;
      connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function connect() {
    if (useSse || !("WebSocket" in window)) connectSse();
    else connectWs();
  }

  function connectWs() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + location.host + BASE + "/ws" + query());
    } catch (err) {
      useSse = true;
      connectSse();
      return;
    }
    var openedAt = 0;
    var heard = false;
    ws.onopen = function () {
      openedAt = Date.now();
      retryDelay = 1000;
      setState("ws");
    };
    ws.onmessage = function (message) {
      heard = true;
      try {
        handle(JSON.parse(message.data));
      } catch (err) {
        /* a malformed message is skipped; the next card refresh shows the truth */
      }
    };
    ws.onclose = function () {
      // Never opened, or dropped at once without a word: a proxy that does not pass WebSockets.
      if (!openedAt || (!heard && Date.now() - openedAt < 2000)) {
        useSse = true;
        connectSse();
        return;
      }
      scheduleReconnect();
    };
  }

  function connectSse() {
    var source = new EventSource(BASE + "/api/events" + query());
    source.onopen = function () {
      retryDelay = 1000;
      setState("sse");
    };
    TYPES.forEach(function (type) {
      source.addEventListener(type, function (message) {
        try {
          handle(JSON.parse(message.data));
        } catch (err) {
          /* skipped, as above */
        }
      });
    });
    source.onerror = function () {
      // CONNECTING: the browser retries by itself, sending Last-Event-ID. CLOSED: we start again.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        scheduleReconnect();
      } else {
        setState("offline");
      }
    };
  }

  function cardOf(jobId) {
    return document.getElementById("job-" + jobId);
  }

  function handle(event) {
    if (typeof event.id === "number" && (lastEventId === null || event.id > lastEventId)) {
      lastEventId = event.id;
    }
    var jobId = event.job_id;
    if (event.type === "track.progress") {
      if (cardOf(jobId)) applyProgress(jobId, event.data.tracks || []);
      else refreshCard(jobId);
      return;
    }
    if (event.type === "job.deleted") {
      var card = cardOf(jobId);
      if (card) card.remove();
      speeds.delete(jobId);
      return;
    }
    refreshCard(jobId);
    if (event.type === "job.completed" && event.data && event.data.mode === "server") refreshDownloads();
  }

  function refreshDownloads() {
    if (document.getElementById("downloads") && window.htmx) {
      window.htmx.ajax("GET", BASE + "/downloads", { target: "#downloads", swap: "outerHTML" });
    }
  }

  /* Reload one job's card; one request at a time per job, one more if events came meanwhile. */
  function refreshCard(jobId) {
    var state = refreshing.get(jobId);
    if (state) {
      state.again = true;
      return;
    }
    var list = document.querySelector("[data-live-list]");
    if (!cardOf(jobId) && !list) return;
    state = { again: false };
    refreshing.set(jobId, state);
    fetch(BASE + "/jobs/" + encodeURIComponent(jobId) + "/card", { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 404) return "";
        if (!response.ok) throw new Error("card " + response.status);
        return response.text();
      })
      .then(function (html) {
        placeCard(jobId, html);
      })
      .catch(function () {
        /* the next event or reconnect tries again */
      })
      .finally(function () {
        refreshing.delete(jobId);
        if (state.again) refreshCard(jobId);
      });
  }

  function placeCard(jobId, html) {
    var old = cardOf(jobId);
    if (!html) {
      if (old) old.remove();
      return;
    }
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector(".job-card");
    if (!fresh) return;
    var focusedId = old && old.contains(document.activeElement) ? document.activeElement.id : null;
    var openTracks = old ? old.querySelector("details.tracks") : null;
    if (old) {
      var details = fresh.querySelector("details.tracks");
      if (details && openTracks) details.open = openTracks.open;
      old.replaceWith(fresh);
    } else {
      var list = document.querySelector("[data-live-list]");
      if (!list) return;
      list.prepend(fresh);
    }
    if (window.htmx) window.htmx.process(fresh);
    showRates(jobId);
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again) again.focus();
    }
    if (window.AudioFetch) window.AudioFetch.afterNewContent();
  }

  function formatBytes(bytes) {
    // The same words as jinja's filesizeformat (decimal units), so server and live text agree.
    if (bytes < 1000) return bytes + (bytes === 1 ? " Byte" : " Bytes");
    var units = ["kB", "MB", "GB", "TB", "PB"];
    var value = bytes;
    var unit = "";
    for (var i = 0; i < units.length && value >= 1000; i++) {
      value /= 1000;
      unit = units[i];
    }
    return value.toFixed(1) + " " + unit;
  }

  function formatSeconds(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  var TRACK_WORDS = { pending: "Waiting", downloading: "Downloading", done: "Done", failed: "Failed", skipped: "Skipped" };

  function setBar(bar, done, size, finished) {
    if (!bar) return;
    if (size > 0) {
      bar.max = size;
      bar.value = Math.min(done, size);
    } else if (finished !== null) {
      bar.max = 1;
      bar.value = finished ? 1 : 0;
    } else {
      bar.removeAttribute("value"); // indeterminate
    }
  }

  function applyProgress(jobId, tracks) {
    var card = cardOf(jobId);
    var rates = speeds.get(jobId) || new Map();
    speeds.set(jobId, rates);
    tracks.forEach(function (t) {
      var row = card.querySelector('[data-track="' + t.index + '"]');
      if (!row) return;
      if (typeof t.bytes_done === "number") row.setAttribute("data-done", String(t.bytes_done));
      if (typeof t.size === "number") row.setAttribute("data-size", String(t.size));
      if (t.status) {
        row.setAttribute("data-status", t.status);
        row.className = "track status-" + t.status;
        var state = row.querySelector("[data-role=state]");
        if (state) state.textContent = TRACK_WORDS[t.status] || t.status;
      }
      var errorLine = row.querySelector("[data-role=error]");
      if (errorLine && "error" in t) errorLine.textContent = t.error || "";
      rates.set(t.index, row.getAttribute("data-status") === "downloading" ? (t.speed || 0) : 0);
      var done = Number(row.getAttribute("data-done")) || 0;
      var size = Number(row.getAttribute("data-size")) || 0;
      var status = row.getAttribute("data-status");
      var finished = status === "done" ? true : (status === "failed" || status === "skipped" ? false : null);
      setBar(row.querySelector("progress"), done, size, finished);
      var bytes = row.querySelector("[data-role=bytes]");
      if (bytes) bytes.textContent = formatBytes(done) + (size ? " of " + formatBytes(size) : "");
    });
    showOverall(card);
    showRates(jobId);
  }

  function showOverall(card) {
    var done = 0;
    var total = 0;
    var known = true;
    var count = 0;
    card.querySelectorAll("[data-track]").forEach(function (row) {
      if (row.getAttribute("data-status") === "skipped") return;
      count++;
      done += Number(row.getAttribute("data-done")) || 0;
      var size = Number(row.getAttribute("data-size"));
      if (row.getAttribute("data-size") === "" || !size) known = false;
      else total += size;
    });
    if (!count) return;
    setBar(card.querySelector(".bar-overall"), done, known ? total : 0, null);
    var bytes = card.querySelector(".overall-text [data-role=bytes]");
    if (bytes) bytes.textContent = formatBytes(done) + (known ? " of " + formatBytes(total) : "");
    var percent = card.querySelector(".overall-text [data-role=percent]");
    if (percent) percent.textContent = known && total ? "(" + Math.min(100, Math.floor(done * 100 / total)) + " %)" : "";
    card.setAttribute("data-remaining", known ? String(Math.max(0, total - done)) : "");
  }

  function showRates(jobId) {
    var card = cardOf(jobId);
    var rates = speeds.get(jobId);
    if (!card || !rates) return;
    var speed = 0;
    rates.forEach(function (value) { speed += value; });
    var active = card.getAttribute("data-status") === "downloading";
    var speedText = card.querySelector("[data-role=speed]");
    var etaText = card.querySelector("[data-role=eta]");
    var remaining = card.getAttribute("data-remaining");
    if (speedText) speedText.textContent = active && speed > 0 ? "· " + formatBytes(speed) + "/s" : "";
    if (etaText) {
      etaText.textContent = active && speed > 0 && remaining ? "· about " + formatSeconds(Number(remaining) / speed) + " left" : "";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-live-list]") && !document.body.getAttribute("data-live-job")) return;
    connect();
  });
})();
