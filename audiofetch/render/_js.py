"""The JavaScript the page driver evaluates in a rendered page (each a function of one argument).

Every function walks the light DOM and every open shadow root, in document order (a shadow root's
content comes before the host's light children, as it is rendered).
"""

from __future__ import annotations

from typing import Final

__all__ = ["FIND_CONTROLS", "MEDIA_STATE", "PAUSE_ALL", "PLAY_MEDIA", "SERIALIZE"]

_WALK: Final = """
const walk = (root, out) => {
  for (const el of root.children) {
    out.push(el);
    if (el.shadowRoot) walk(el.shadowRoot, out);
    walk(el.localName === 'template' ? el.content : el, out);
  }
  return out;
};
const everything = () => walk(document, []);
const medias = () => everything().filter(el => el.localName === 'audio' || el.localName === 'video');
"""

# Play controls: elements whose accessible name, class, title or glyph says "play", and elements carrying
# an audio URL in a data attribute; the outermost of nested candidates; then media elements themselves
# (calling play() is how a lazy <audio preload=none> fetches). Returns [element, name] pairs.
FIND_CONTROLS: Final = (
    "(limit) => {"
    + _WALK
    + r"""
  const word = /(?:^|[^A-Za-z])[Pp]lay(?![a-z])|[a-z]Play(?![a-z])|[\u25B6\u25BA\u23F5\u25B7]/;
  const audioUrl = new RegExp('^[^\\s"\'<>]*\\.(?:mp3|m4a|aac|ogg|oga|opus|wav|flac|webm|m3u8|mpd)'
    + '(?:[?#][^\\s"\'<>]*)?$', 'i');
  const clickable = el => ['button', 'a', 'summary'].includes(el.localName)
    || el.getAttribute('role') === 'button' || el.hasAttribute('onclick') || el.hasAttribute('tabindex');
  const nameOf = el => (el.getAttribute('aria-label') || el.getAttribute('title')
    || (el.textContent || '').replace(/\s+/g, ' ').trim()).slice(0, 200);
  const looksLikePlay = el => {
    const skip = ['script', 'style', 'audio', 'video', 'source', 'head', 'html', 'body'];
    if (skip.includes(el.localName)) return false;
    for (const a of el.attributes) {
      if (a.name.startsWith('data-') && audioUrl.test(a.value.trim())) return true;
    }
    const marks = [el.getAttribute('aria-label'), el.getAttribute('title'), el.getAttribute('class'), el.id];
    if (marks.some(m => m && word.test(m))) return true;
    const text = (el.textContent || '').trim();
    return clickable(el) && text.length <= 60 && word.test(text);
  };
  const found = everything().filter(looksLikePlay);
  const chosen = new Set(found);
  const inner = el => {
    for (let up = el.parentNode || el.host; up; up = up.parentNode || up.host) {
      if (chosen.has(up)) return true;
    }
    return false;
  };
  const controls = found.filter(el => !inner(el)).slice(0, limit);
  const pairs = controls.map(el => [el, nameOf(el)]);
  for (const m of medias()) {
    if (pairs.length < limit) pairs.push([m, m.getAttribute('aria-label') || m.getAttribute('title') || '']);
  }
  return pairs;
}"""
)

PAUSE_ALL: Final = "() => {" + _WALK + "for (const m of medias()) { try { m.pause(); } catch (e) {} } }"

# Pressing: a click for controls, play() for media elements; never throws into the driver.
PLAY_MEDIA: Final = """(el) => {
  try {
    if (el.localName === 'audio' || el.localName === 'video') {
      el.muted = true;
      const started = el.play();
      if (started) started.catch(() => {});
    } else el.click();
  } catch (e) {}
}"""

# What the page plays: the media elements' current sources and the Media Session metadata.
MEDIA_STATE: Final = (
    "() => {"
    + _WALK
    + """
  const meta = navigator.mediaSession && navigator.mediaSession.metadata;
  return {
    sources: medias().map(m => m.currentSrc || m.src || '').filter(s => /^https?:/.test(s)),
    title: meta ? meta.title || null : null,
    artist: meta ? meta.artist || null : null,
    album: meta ? meta.album || null : null,
  };
}"""
)

# The rendered document as HTML with open shadow roots inlined. Argument: [extras, dropped] where extras
# are [element, [[url, title, artist, album], ...]] pairs (an <audio> per URL is written right after the
# element: what pressing it played) and dropped lists URLs whose media elements lose their src (a shared
# player element would otherwise put the last pressed track first).
SERIALIZE: Final = r"""([extras, dropped]) => {
  const after = new Map(extras);
  const drop = new Set(dropped);
  const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source',
    'track', 'wbr']);
  const RAW = new Set(['script', 'style']);
  const text = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const quoted = s => '"' + String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;') + '"';
  const out = [];
  const emitAfter = node => {
    for (const [url, title, artist, album] of after.get(node) || []) {
      out.push('<audio data-audiofetch-recorded src=' + quoted(url)
        + (title ? ' title=' + quoted(title) : '') + (artist ? ' data-artist=' + quoted(artist) : '')
        + (album ? ' album=' + quoted(album) : '') + '></audio>');
    }
  };
  const walk = node => {
    if (node.nodeType === 3) {
      const parent = node.parentNode;
      out.push(parent && RAW.has(parent.localName) ? node.data : text(node.data));
      return;
    }
    if (node.nodeType === 11) { for (const child of node.childNodes) walk(child); return; }
    if (node.nodeType !== 1) return;
    const tag = node.localName;
    const isMedia = tag === 'audio' || tag === 'video' || tag === 'source';
    let attrs = '';
    let hasSrc = false;
    for (const a of node.attributes) {
      if (a.name === 'src' && isMedia && drop.has(node.src)) continue;
      if (a.name === 'src') hasSrc = true;
      attrs += ' ' + a.name + '=' + quoted(a.value);
    }
    const current = node.currentSrc || '';
    if ((tag === 'audio' || tag === 'video') && !hasSrc && /^https?:/.test(current) && !drop.has(current)) {
      attrs += ' src=' + quoted(current);
    }
    out.push('<' + tag + attrs + '>');
    if (!VOID.has(tag)) {
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const child of (tag === 'template' ? node.content.childNodes : node.childNodes)) walk(child);
      out.push('</' + tag + '>');
    }
    emitAfter(node);
  };
  walk(document.documentElement);
  return '<!DOCTYPE html>' + out.join('');
}"""
