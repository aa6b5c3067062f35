/* "Send this page as I see it": what the extension gathers, and only when the user clicks.
 *
 * - `AudioFetchCapture.record`: a webRequest observer (never blocking, never reading bodies) that
 *   remembers, per tab, the media URLs the tab requested since its last page load: audio by
 *   Content-Type or file extension, HLS and DASH manifests. Kept in memory, at most MAX_PER_TAB per tab,
 *   forgotten when the tab loads another page or closes. Nothing is sent from here.
 * - `AudioFetchCapture.snapshotPage`: injected into the tab on click; returns the rendered DOM (open
 *   shadow roots written as declarative `<template shadowrootmode="open">`), the title, the address,
 *   the media URLs from resource timing and from media elements, and the addresses of audio-looking
 *   links (whose sites may get cookies if the user ticks the box).
 * Plain script: the Chromium service worker importScripts() it, Firefox lists it in background.scripts.
 */
"use strict";

const AudioFetchCapture = (() => {
  const api = globalThis.browser ?? globalThis.chrome;
  const MAX_PER_TAB = 500;
  const MEDIA_PATH = /\.(mp3|m4a|m4b|aac|ogg|oga|opus|flac|wav|weba|webm|m3u8|mpd)$/i;
  const SEGMENT_PATH = /\.(ts|m4s)$/i;
  const MEDIA_TYPES = /^(audio\/|application\/(vnd\.apple\.mpegurl|x-mpegurl|dash\+xml)\b)/i;
  const byTab = new Map();

  function pathOf(url) {
    try {
      return new URL(url).pathname;
    } catch {
      return "";
    }
  }

  /** Whether a request looks like media worth sending: by type, else by the path's extension. */
  function isMedia(url, contentType) {
    const path = pathOf(url);
    if (SEGMENT_PATH.test(path)) return false; // pieces of an HLS/DASH stream, not tracks
    return MEDIA_TYPES.test((contentType || "").trim()) || MEDIA_PATH.test(path);
  }

  function remember(tabId, url) {
    const seen = byTab.get(tabId) ?? [];
    if (!seen.includes(url) && seen.length < MAX_PER_TAB) seen.push(url);
    byTab.set(tabId, seen);
  }

  function onHeaders(details) {
    if (details.tabId < 0) return;
    if (details.type === "main_frame") {
      byTab.delete(details.tabId); // a new page in this tab: start again
      return;
    }
    const header = (details.responseHeaders || []).find((h) => h.name.toLowerCase() === "content-type");
    if (isMedia(details.url, header ? header.value : "")) remember(details.tabId, details.url);
  }

  function record() {
    api.webRequest.onHeadersReceived.addListener(onHeaders, { urls: ["http://*/*", "https://*/*"] }, [
      "responseHeaders",
    ]);
    api.tabs.onRemoved.addListener((tabId) => byTab.delete(tabId));
  }

  /** The media URLs the tab requested since its page loaded, in order. */
  function seenIn(tabId) {
    return [...(byTab.get(tabId) ?? [])];
  }

  /* Runs inside the page (injected with scripting.executeScript): must be self-contained. */
  function snapshotPage() {
    const VOID = new Set(
      "area base br col embed hr img input link meta param source track wbr".split(" ")
    );
    // Written as-is, as the browser's own serialiser does (noscript: scripting is on, so its content is text).
    const RAW = new Set(["script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript"]);
    const MEDIA_PATH = /\.(mp3|m4a|m4b|aac|ogg|oga|opus|flac|wav|weba|m3u8|mpd)$/i;
    const escapeText = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const escapeAttr = (text) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;");

    function children(node) {
      let out = "";
      for (const child of node.childNodes) out += serialise(child);
      return out;
    }

    function serialise(node) {
      if (node.nodeType === Node.TEXT_NODE) {
        const parent = node.parentNode && node.parentNode.localName;
        return RAW.has(parent) ? node.data : escapeText(node.data);
      }
      if (node.nodeType === Node.COMMENT_NODE) return `<!--${node.data}-->`;
      if (node.nodeType !== Node.ELEMENT_NODE) return "";
      const tag = node.localName;
      let out = `<${tag}`;
      for (const attribute of node.attributes) out += ` ${attribute.name}="${escapeAttr(attribute.value)}"`;
      out += ">";
      if (VOID.has(tag)) return out;
      if (node.shadowRoot) out += `<template shadowrootmode="open">${children(node.shadowRoot)}</template>`;
      out += children(tag === "template" ? node.content : node);
      return `${out}</${tag}>`;
    }

    function absolute(text) {
      try {
        const url = new URL(text, document.baseURI);
        return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
      } catch {
        return null;
      }
    }

    const media = [];
    const links = [];
    const add = (list, text) => {
      const url = text ? absolute(text) : null;
      if (url && !list.includes(url)) list.push(url);
    };
    for (const entry of performance.getEntriesByType("resource")) {
      if (MEDIA_PATH.test(new URL(entry.name).pathname)) add(media, entry.name);
    }
    const walk = (root) => {
      for (const element of root.querySelectorAll("*")) {
        if (element.shadowRoot) walk(element.shadowRoot);
        if (element instanceof HTMLMediaElement && element.currentSrc) add(media, element.currentSrc);
        for (const name of ["src", "href", "data-src", "data-url"]) {
          const value = element.getAttribute(name);
          if (value && MEDIA_PATH.test((absolute(value) && new URL(absolute(value)).pathname) || "")) {
            add(links, value);
          }
        }
      }
    };
    walk(document);
    const doctype = document.doctype ? `<!DOCTYPE ${document.doctype.name}>` : "";
    return {
      url: location.href,
      title: document.title,
      html: doctype + serialise(document.documentElement),
      media,
      links,
    };
  }

  return Object.freeze({ isMedia, record, seenIn, snapshotPage, MAX_PER_TAB });
})();
