/* The installable app's one page-side step: register the service worker (web/_webapp.py serves it from
   the app's own path, named in <meta name="audiofetch-sw">, so its scope is the whole app). Browsers
   without service workers, or pages not served over https or from localhost, simply skip it. */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="audiofetch-sw"]');
  if (!meta || !("serviceWorker" in navigator) || !window.isSecureContext) return;
  var script = meta.getAttribute("content");
  var scope = script.replace(/sw\.js$/, "");
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(script, { scope: scope }).catch(function () {
      /* no worker: the app still works, it only cannot be installed */
    });
  });
})();
