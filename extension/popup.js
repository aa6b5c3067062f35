/* The toolbar popup: nothing is sent until one of its buttons is pressed. The cookie box starts
 * unticked every time the popup opens, so cookies go with one job at most and only when asked. */
"use strict";

(() => {
  const api = globalThis.browser ?? globalThis.chrome;
  const status = document.getElementById("status");
  const cookies = document.getElementById("cookies");
  const buttons = [...document.querySelectorAll("button")];

  function say(text, kind) {
    status.textContent = text;
    status.className = kind;
  }

  async function send(kind) {
    buttons.forEach((button) => (button.disabled = true));
    say(kind === "send-page" ? "Sending the page..." : "Sending the address...", "");
    try {
      const [tab] = await api.tabs.query({ active: true, currentWindow: true });
      const result = await api.runtime.sendMessage({ kind, tabId: tab.id, cookies: cookies.checked });
      say(result.ok ? "Sent: the job opens in a new tab." : result.reason, result.ok ? "ok" : "error");
      if (result.ok) window.close();
    } catch (error) {
      say(error.message, "error");
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  }

  cookies.checked = false;
  document.getElementById("send-page").addEventListener("click", () => send("send-page"));
  document.getElementById("send-address").addEventListener("click", () => send("send-address"));
  document.body.dataset.ready = "true";
})();
