"""Generated pages in the shape of real ones, too large to keep as fixtures (shared by tests and bench/).

- ``minified_bundle(size)``: a minified library's shape (short names, chains of ternaries, regex
  literals, object literals, strings with brackets) of about ``size`` bytes;
- ``inline_playlist_page(entries, bundle_bytes)``: a music site's page with ``var playlist = [...]``
  beside that bundle, and the (url, title) list a listener would hear;
- ``long_feed(items)``: a podcast feed of ``items`` episodes and its (url, title) list;
- ``ternary_chain(n)``: ``n`` variables, each a chain of conditionals over the one before it.
"""

from __future__ import annotations

import json
import random

ORIGIN = "http://127.0.0.1:8000"


def ternary_chain(n: int) -> str:
    """A minified library's shape: each variable a chain of conditionals over the one before it."""
    parts = ['a0="/x"']
    for i in range(1, n):
        p = f"a{i - 1}"
        parts.append(f"a{i}=t{i}?{p}:u{i}?{p}+'1':v{i}?{p}+'2':w{i}?{p}:x{i}?{p}:{p}")
    return "var " + ",".join(parts) + ";"


def minified_bundle(size: int, seed: int = 3) -> str:
    """A minified-library-shaped script of about ``size`` characters (no audio URLs in it)."""
    rng = random.Random(seed)
    names = [f"{a}{b}" for a in "abcdefghijklmnopqrstuvwxyz" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ_$"]
    parts = ['!function(e,t){"use strict";var n={version:"3.7.1",re:/[{}()\\[\\]]+/g,s:"({[<"};']
    length = len(parts[0])
    index = 0
    while length < size:
        a, b, c, d = (names[(index + k) % len(names)] for k in range(4))
        piece = rng.choice(
            [
                f"function {a}({b},{c}){{return {b}?{c}:{d}?{b}+{c}:null}}",
                f"var {a}={b}?{c}:{d}?{b}:{c}?{d}:void 0,{b}={a}||{{}};",
                f'{a}.prototype.{b}=function({c}){{this.{d}=({c}||"").replace(/\\s+/g," ");return this}};',
                f'var {a}={{id:{index},name:"{b}-{index}",opts:[{index % 7},"x{{y}}",{c}]}};',
                f"for(var {a}=0;{a}<{b}.length;{a}++){{if({b}[{a}]==={c})break}}",
                f'{a}=typeof {b}==="function"?{b}:function(){{return {c}}};',
            ]
        )
        parts.append(piece)
        length += len(piece)
        index += 1
    parts.append("e.lib=n}(window);")
    return "".join(parts)


def inline_playlist_page(entries: int, bundle_bytes: int) -> tuple[str, list[tuple[str, str]]]:
    """(HTML, expected absolute (url, title) in order) for a page with a big inline playlist."""
    items = [
        {
            "title": f"Track {n:04d}: Harbour session",
            "artist": "The Quayside Band",
            "file": f"/music/t{n:04d}.mp3",
        }
        for n in range(1, entries + 1)
    ]
    playlist = json.dumps(items, separators=(",", ":"))
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Archive | Quayside Records</title>"
        f"<script>{minified_bundle(bundle_bytes)}</script></head><body><h1>Complete archive</h1>"
        "<div id='player'></div>"
        f"<script>var playlist = {playlist};\nvar player = new SitePlayer('#player', playlist);</script>"
        "</body></html>"
    )
    return html, [(ORIGIN + item["file"], item["title"]) for item in items]


def long_feed(items: int) -> tuple[str, list[tuple[str, str]]]:
    """(RSS text, expected (url, title) in feed order) for a feed of ``items`` episodes."""
    entries = []
    expected = []
    for n in range(items, 0, -1):
        url = f"{ORIGIN}/feed/media/ep{n:04d}.mp3"
        title = f"Episode {n}: Notes from the harbour"
        entries.append(
            f"<item><title>{title}</title><guid>ep{n}</guid>"
            f'<enclosure url="{url}" length="{n * 1000}" type="audio/mpeg"/></item>'
        )
        expected.append((url, title))
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Harbour Notes</title>'
        + "".join(entries)
        + "</channel></rss>"
    )
    return feed, expected
