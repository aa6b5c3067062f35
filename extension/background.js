/* AudioFetch hand-off: send a page's address (toolbar popup) or a link (context menu) to the configured
 * AudioFetch server with POST /api/download, then open the job there. When the server refuses (not
 * logged in for server mode, cross-site check, no audio...), open its home page with the address
 * filled in instead, and say why on the button's badge and tooltip.
 * "Send this page as I see it" (popup) sends the rendered page, the media URLs the tab loaded and, only
 * when ticked for that job, the cookies for the tracks' sites, with POST /api/page and the pairing token. */
"use strict";

if (typeof importScripts === "function" && typeof AudioFetchSettings === "undefined") {
  // Chromium service worker; Firefox lists these in background.scripts.
  importScripts("settings.js", "capture.js");
}

const api = globalThis.browser ?? globalThis.chrome;
const MENU_ID = "audiofetch-send-link";
const DEFAULT_TITLE = "Send this page to AudioFetch";
const BADGE_OK = "#1a7f37";
const BADGE_ERROR = "#cf222e";

/** The server's page for this job (it notes when the page was already being fetched). */
function jobPageUrl(server, job) {
  const page = `${server}/jobs/${encodeURIComponent(job.id)}`;
  return job.duplicate ? `${page}?duplicate=1` : page;
}

/** The server's home page with the form filled in for this page. */
function prefillUrl(server, pageUrl) {
  return `${server}/?url=${encodeURIComponent(pageUrl)}`;
}

function isWebPage(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

async function showBadge(tab, text, color, title) {
  const target = tab && Number.isInteger(tab.id) && tab.id >= 0 ? { tabId: tab.id } : {};
  await Promise.all([
    api.action.setBadgeText({ ...target, text }),
    api.action.setBadgeBackgroundColor({ ...target, color }),
    api.action.setTitle({ ...target, title }),
  ]);
}

async function openNextTo(tab, url) {
  const props = { url, active: true };
  if (tab && Number.isInteger(tab.id) && tab.id >= 0) {
    props.openerTabId = tab.id;
    if (Number.isInteger(tab.index)) props.index = tab.index + 1;
  }
  return api.tabs.create(props);
}

/** Why the server refused, as one line for the tooltip. */
async function refusalReason(response, settings) {
  let message = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    // Not JSON: keep the status.
  }
  if (response.status === 401) {
    return `${message}: log in to AudioFetch at ${settings.server} for server mode`;
  }
  if (response.status === 403 && /cross-site/i.test(message)) {
    return `${message}: add ${location.origin} to AUDIOFETCH_CORS_ORIGINS on the server`;
  }
  return message;
}

/**
 * Send `pageUrl` to AudioFetch and open the result next to `tab`.
 * Resolves to {ok, opened, jobId?, reason?}; never rejects (every failure ends on the badge).
 */
async function sendToAudioFetch(pageUrl, tab) {
  if (!isWebPage(pageUrl)) {
    const reason = "AudioFetch takes http:// and https:// pages only";
    await showBadge(tab, "!", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  const settings = await AudioFetchSettings.load();
  const fallback = prefillUrl(settings.server, pageUrl);
  const allowed = await api.permissions.contains({
    origins: [AudioFetchSettings.hostPattern(settings.server)],
  });
  if (!allowed) {
    const reason = `No access to ${settings.server}: allow it on the AudioFetch options page`;
    await showBadge(tab, "!", BADGE_ERROR, reason);
    await openNextTo(tab, fallback);
    return { ok: false, opened: fallback, reason };
  }
  let response;
  try {
    response = await fetch(`${settings.server}/api/download`, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ url: pageUrl, mode: settings.mode }),
    });
  } catch (error) {
    const reason = `AudioFetch is not reachable at ${settings.server} (${error.message})`;
    await showBadge(tab, "off", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  if (!response.ok) {
    const reason = await refusalReason(response, settings);
    await showBadge(tab, "!", BADGE_ERROR, `AudioFetch refused: ${reason}`);
    await openNextTo(tab, fallback);
    return { ok: false, opened: fallback, reason };
  }
  const job = await response.json();
  const opened = jobPageUrl(settings.server, job);
  await showBadge(tab, "ok", BADGE_OK, `Sent to AudioFetch (job ${job.id})`);
  await openNextTo(tab, opened);
  return { ok: true, opened, jobId: job.id, duplicate: Boolean(job.duplicate) };
}

/** The pairing token, asking the server for one when there is none (or `renew`). */
async function pairingToken(settings, renew) {
  const stored = await api.storage.local.get({ token: "", tokenServer: "" });
  if (!renew && stored.token && stored.tokenServer === settings.server) return stored.token;
  // With this browser's AudioFetch cookie: the jobs sent are then this browser's own.
  const response = await fetch(`${settings.server}/api/extension/pair`, {
    method: "POST",
    credentials: "include",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(await refusalReason(response, settings));
  const body = await response.json();
  await api.storage.local.set({ token: body.token, tokenServer: settings.server });
  return body.token;
}

/** Cookies (as the cookies API lists them) for each site in `urls` the extension may read. */
async function cookiesFor(urls) {
  const origins = [...new Set(urls.map((url) => new URL(url).origin))];
  const found = new Map();
  for (const origin of origins) {
    const allowed = await api.permissions.contains({ origins: [`${origin}/*`] });
    if (!allowed) continue;
    for (const cookie of await api.cookies.getAll({ url: `${origin}/` })) {
      const key = `${cookie.domain}|${cookie.path}|${cookie.name}`;
      found.set(key, {
        name: cookie.name,
        value: cookie.value,
        domain: cookie.domain,
        path: cookie.path,
        secure: cookie.secure,
        hostOnly: cookie.hostOnly,
      });
    }
  }
  return [...found.values()];
}

async function postPage(settings, payload, renew) {
  const token = await pairingToken(settings, renew);
  return fetch(`${settings.server}/api/page`, {
    method: "POST",
    credentials: "omit",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(payload),
  });
}

/**
 * "Send this page as I see it": the tab's rendered page, the media it loaded and, only when
 * `options.cookies` is true (the box ticked for this job), the cookies for the sites of those media and
 * of the page's audio links. Resolves to {ok, opened, jobId?, reason?}; never rejects.
 */
async function sendPageAsSeen(tab, options = {}) {
  if (!isWebPage(tab.url)) {
    const reason = "AudioFetch takes http:// and https:// pages only";
    await showBadge(tab, "!", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  const settings = await AudioFetchSettings.load();
  const allowed = await api.permissions.contains({
    origins: [AudioFetchSettings.hostPattern(settings.server)],
  });
  if (!allowed) {
    const reason = `No access to ${settings.server}: allow it on the AudioFetch options page`;
    await showBadge(tab, "!", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  let snapshot;
  try {
    const [injected] = await api.scripting.executeScript({
      target: { tabId: tab.id },
      func: AudioFetchCapture.snapshotPage,
    });
    snapshot = injected.result;
  } catch (error) {
    const reason = `This page cannot be read by the extension (${error.message})`;
    await showBadge(tab, "!", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  const media = [...new Set([...AudioFetchCapture.seenIn(tab.id), ...snapshot.media])];
  const payload = { url: snapshot.url, title: snapshot.title, html: snapshot.html, media };
  if (options.cookies === true) {
    payload.cookies = await cookiesFor([snapshot.url, ...media, ...snapshot.links]);
  }
  let response;
  try {
    response = await postPage(settings, payload, false);
    if (response.status === 401) response = await postPage(settings, payload, true);
  } catch (error) {
    const reason = `AudioFetch refused or is not reachable at ${settings.server} (${error.message})`;
    await showBadge(tab, "off", BADGE_ERROR, reason);
    return { ok: false, opened: null, reason };
  }
  if (!response.ok) {
    const reason = await refusalReason(response, settings);
    await showBadge(tab, "!", BADGE_ERROR, `AudioFetch refused: ${reason}`);
    return { ok: false, opened: null, reason };
  }
  const job = await response.json();
  const opened = jobPageUrl(settings.server, job);
  await showBadge(tab, "ok", BADGE_OK, `Sent to AudioFetch (job ${job.id})`);
  await openNextTo(tab, opened);
  return { ok: true, opened, jobId: job.id, cookies: (payload.cookies ?? []).length };
}

/** The popup's requests: {kind: "send-address" | "send-page", tabId, cookies}. */
function handlePopupMessage(message, sender, sendResponse) {
  if (!message || (message.kind !== "send-address" && message.kind !== "send-page")) return false;
  api.tabs
    .get(message.tabId)
    .then((tab) =>
      message.kind === "send-page"
        ? sendPageAsSeen(tab, { cookies: message.cookies === true })
        : handleAction(tab),
    )
    .then(sendResponse, (error) => sendResponse({ ok: false, opened: null, reason: error.message }));
  return true; // answered asynchronously
}

/** The toolbar button: the current tab's page. */
function handleAction(tab) {
  return sendToAudioFetch(tab.url, tab);
}

/** The context-menu entry: the link under the pointer. */
function handleContextMenu(info, tab) {
  if (info.menuItemId !== MENU_ID) return Promise.resolve(null);
  return sendToAudioFetch(info.linkUrl, tab);
}

AudioFetchCapture.record();
api.runtime.onMessage.addListener(handlePopupMessage);
api.action.onClicked.addListener(handleAction); // fires only if the popup is ever removed
api.contextMenus.onClicked.addListener(handleContextMenu);
api.runtime.onInstalled.addListener(async () => {
  await api.contextMenus.removeAll();
  api.contextMenus.create({ id: MENU_ID, title: "Send link to AudioFetch", contexts: ["link"] });
  await api.action.setTitle({ title: DEFAULT_TITLE });
});
