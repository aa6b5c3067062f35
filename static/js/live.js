/* Live job updates: the WebSocket /ws first, Server-Sent Events /api/events when it cannot connect.

   The server sends JSON events ({id, type, job_id, data}); every event reloads the job's card, rendered
   by the server (/jobs/ID/card), so statuses, counts and sizes have one wording: the template's. Progress
   events reload it at most every REFRESH_GAP ms (a track's end is sent once the store has it). Only the
   speed and time left, which the server does not know per card, are computed here. Cards are not live regions: one polite region announces a job's end.
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
  var refreshing = new Map(); // job id -> {again}
  var REFRESH_GAP = 250;
  var ACTIVE = { queued: true, analyzing: true, ready: true, downloading: true };

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
    // Other scripts (notify.js) follow the same events instead of opening a connection of their own.
    document.dispatchEvent(new CustomEvent("audiofetch:live", { detail: event }));
    if (typeof event.id === "number" && (lastEventId === null || event.id > lastEventId)) {
      lastEventId = event.id;
    }
    var jobId = event.job_id;
    if (event.type === "track.progress") {
      noteSpeeds(jobId, event.data.tracks || []);
      refreshCard(jobId, REFRESH_GAP);
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

  /* Reload one job's card; one request at a time per job, one more if events came meanwhile (after
     ``gap`` ms when only progress asked for it). */
  function refreshCard(jobId, gap) {
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
        if (!state.again) {
          refreshing.delete(jobId);
          return;
        }
        setTimeout(function () {
          refreshing.delete(jobId);
          refreshCard(jobId, gap);
        }, gap || 0);
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
      var wasActive = ACTIVE[old.getAttribute("data-status")];
      old.replaceWith(fresh);
      if (wasActive && !ACTIVE[fresh.getAttribute("data-status")]) announceEnd(fresh);
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

  function announcer() {
    // Made empty at start: a region must exist before its text changes for readers to announce it.
    var region = document.getElementById("live-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-announcer";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    return region;
  }

  function announceEnd(card) {
    var region = announcer();
    var title = card.querySelector(".job-title");
    var status = card.querySelector(".job-status");
    region.textContent = (title ? title.textContent.trim() + ": " : "") + (status ? status.textContent.trim() : "");
  }

  function formatBytes(bytes) {
    // Only for the speed; the same words as jinja's filesizeformat (decimal units).
    if (bytes < 1000) return Math.round(bytes) + " Bytes";
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

  function noteSpeeds(jobId, tracks) {
    var rates = speeds.get(jobId) || new Map();
    speeds.set(jobId, rates);
    tracks.forEach(function (t) {
      rates.set(t.index, t.status === "downloading" || !t.status ? (t.speed || 0) : 0);
    });
    showRates(jobId);
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
    announcer();
    connect();
  });
})();
