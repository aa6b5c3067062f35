/* Settings shared by the background script and the options page: defaults, checks, storage.
 * Plain script (no modules) so the Chromium service worker can importScripts() it and Firefox can list
 * it before background.js. */
"use strict";

const AudioFetchSettings = (() => {
  const api = globalThis.browser ?? globalThis.chrome;
  const DEFAULTS = Object.freeze({ server: "http://127.0.0.1:8080", mode: "browser" });
  const MODES = Object.freeze(["browser", "server"]);

  /** The server address as `scheme://host[:port][/sub/path]` without a trailing slash; throws on junk. */
  function normalizeServer(text) {
    let url;
    try {
      url = new URL(String(text).trim());
    } catch {
      throw new Error("Enter an address such as http://127.0.0.1:8080");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("The address must start with http:// or https://");
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new Error("The address may not hold a user name, a query or a fragment");
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  }

  /** The host permission pattern covering the server (match patterns ignore the port). */
  function hostPattern(server) {
    const url = new URL(server);
    return `${url.protocol}//${url.hostname}/*`;
  }

  /** The stored settings, defaults filled in. */
  async function load() {
    const stored = await api.storage.local.get(DEFAULTS);
    let server = DEFAULTS.server;
    try {
      server = normalizeServer(stored.server);
    } catch {
      // A damaged value falls back to the default rather than breaking the button.
    }
    const mode = MODES.includes(stored.mode) ? stored.mode : DEFAULTS.mode;
    return { server, mode };
  }

  /** Check and store new settings; returns what was stored. */
  async function save(server, mode) {
    if (!MODES.includes(mode)) {
      throw new Error("The mode must be browser or server");
    }
    const clean = { server: normalizeServer(server), mode };
    await api.storage.local.set(clean);
    return clean;
  }

  return Object.freeze({ DEFAULTS, MODES, normalizeServer, hostPattern, load, save });
})();
