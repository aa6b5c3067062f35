/* Options page: read and save the server address and mode; ask for access to that server when the
 * built-in 127.0.0.1/localhost permission does not cover it (the request needs this click). */
"use strict";

(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  const form = document.getElementById("options");
  const server = document.getElementById("server");
  const mode = document.getElementById("mode");
  const status = document.getElementById("status");

  function say(text, kind) {
    status.textContent = text;
    status.className = kind;
  }

  async function ensureAccess(address) {
    // Called first thing in the click (a gesture is required); resolves at once when already granted.
    try {
      return await api.permissions.request({ origins: [AudioFetchSettings.hostPattern(address)] });
    } catch (error) {
      say(error.message, "error");
      return false;
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    let address;
    try {
      address = AudioFetchSettings.normalizeServer(server.value);
    } catch (error) {
      say(error.message, "error");
      return;
    }
    const granted = await ensureAccess(address);
    try {
      const saved = await AudioFetchSettings.save(address, mode.value);
      server.value = saved.server;
      say(granted ? "Saved." : `Saved, but access to ${saved.server} was not granted.`, granted ? "saved" : "error");
    } catch (error) {
      say(error.message, "error");
    }
  }

  async function init() {
    document.getElementById("origin").textContent = location.origin;
    const current = await AudioFetchSettings.load();
    server.value = current.server;
    mode.value = current.mode;
    form.addEventListener("submit", onSubmit);
    document.body.dataset.ready = "true";
  }

  init();
})();
