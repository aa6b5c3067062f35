"""The markup extractors and their shared helpers, on small pages built in the test (pure, no network)."""

from __future__ import annotations

import pytest

from audiofetch.extractors._html import (
    is_format_label,
    link_title,
    media_headings,
    stream_reason,
    title_text,
    without_cache_buster,
)
from audiofetch.extractors.html5_audio import Html5AudioExtractor
from audiofetch.extractors.links import LinksExtractor
from audiofetch.extractors.mediaelement import MediaElementExtractor
from audiofetch.extractors.soundmanager2 import SoundManager2Extractor
from audiofetch.extractors.squarespace import SquarespaceExtractor
from audiofetch.extractors.videojs import VideoJsExtractor
from audiofetch.extractors.wordpress import WordPressExtractor
from audiofetch.page import make_page

URL = "http://127.0.0.1:8000/p/index.html"


def page_of(html: str):
    return make_page(URL, html.encode(), content_type="text/html")


def names(tracks) -> list[tuple[str, str | None]]:
    return [(t.url.rsplit("/", 1)[1], t.title) for t in tracks]


@pytest.mark.parametrize(
    "text", ["MP3", "Download", "download mp3 (4.2 MB)", "Listen now", "OGG | 128 kbps", "Play"]
)
def test_format_labels_and_actions_are_not_titles(text: str) -> None:
    assert is_format_label(text)
    assert title_text(text) is None


@pytest.mark.parametrize("text", ["Track 1", "Morning Light", "Download Harbour (MP3)", "Café, Vol. 1"])
def test_real_titles_are_kept(text: str) -> None:
    assert title_text(f"  {text}\n ") == text


@pytest.mark.parametrize("text", ["3:12", "(1:02:03)", "https://x.test/a.mp3", "song.mp3", "   "])
def test_durations_urls_and_file_names_are_not_titles(text: str) -> None:
    assert title_text(text) is None


def test_link_title_leaves_badges_out() -> None:
    page = page_of(
        '<a id="a" href="a.mp3">Rain <span class="duration">3:12</span></a>'
        '<a id="b" href="b.mp3"><b>SonReal</b> - People Asking <span class="label">Explicit</span></a>'
        '<a id="c" href="c.mp3">Bus <small>(4:05)</small></a>'
        '<a id="d" href="d.mp3" title="The real title">MP3</a>'
        '<a id="e" href="e.mp3">Night Bus (4:05)</a><a id="f" href="f.mp3">Side B — 1:02:03</a>'
        '<a id="g" href="g.mp3">John 3:16</a>'
    )
    assert page.root is not None
    links = {node.get("id"): node for node in page.root.find_all("a")}
    assert link_title(links["a"]) == "Rain"
    assert link_title(links["b"]) == "SonReal - People Asking"
    assert link_title(links["c"]) == "Bus"
    assert link_title(links["d"]) == "The real title"
    assert link_title(links["e"]) == "Night Bus"
    assert link_title(links["f"]) == "Side B"
    assert link_title(links["g"]) == "John 3:16"


def test_a_heading_titles_only_its_own_track() -> None:
    page = page_of(
        "<h1>Album</h1><ul><li><audio id='one' src='1.mp3'></audio></li>"
        "<li><audio id='two' src='2.mp3'></audio></li></ul>"
        "<section><h2>Solo</h2><div><audio id='three' src='3.mp3'></audio></div></section>"
    )
    assert page.root is not None
    audio = {node.get("id"): node for node in page.root.find_all("audio")}
    titles = media_headings(page.root)
    assert id(audio["one"]) not in titles
    assert id(audio["two"]) not in titles
    assert titles[id(audio["three"])] == "Solo"


def test_headings_title_their_own_players_in_a_shared_container() -> None:
    page = page_of(
        "<h2>A</h2><audio id='a' src='a.mp3'></audio><h2>B</h2><p>notes</p><div><audio id='b' src='b.mp3'>"
        "</audio></div><article><header><h3>C</h3></header><div><p>x</p><audio id='c' src='c.mp3'></audio>"
        "</div></article><audio id='d' src='d.mp3'></audio>"
    )
    assert page.root is not None
    audio = {node.get("id"): node for node in page.root.find_all("audio")}
    titles = media_headings(page.root)
    assert [titles.get(id(audio[key])) for key in "abcd"] == ["A", "B", "C", None]


@pytest.mark.parametrize(
    ("ref", "live"),
    [
        ("rtmp://live.example.invalid/app/stream", True),
        ("http://radio.example.invalid:8000/stream", True),
        ("http://radio.example.invalid:8000/;stream.mp3", True),
        ("https://x.test/live/playlist.m3u8", True),
        ("https://x.test/audio/stream-of-consciousness.mp3", False),
        ("https://x.test/listen/episode-1.mp3", False),
    ],
)
def test_stream_reason(ref: str, live: bool) -> None:
    assert (stream_reason(ref) is not None) is live


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://x.test/a.mp3?_=1", "http://x.test/a.mp3"),
        ("http://x.test/a.mp3?v=2&_=13", "http://x.test/a.mp3?v=2"),
        ("http://x.test/a.mp3?_=1&v=2", "http://x.test/a.mp3?v=2"),
        ("http://x.test/a.mp3?__=1", "http://x.test/a.mp3?__=1"),
    ],
)
def test_without_cache_buster(url: str, clean: str) -> None:
    assert without_cache_buster(url) == clean


def test_html5_sources_are_formats_of_one_track_but_the_mejs_playlist_form_is_a_list() -> None:
    formats = page_of('<audio title="T"><source src="t.mp3" type="audio/mpeg"><source src="t.ogg"></audio>')
    (track,) = Html5AudioExtractor().extract(formats)
    assert track.url.endswith("t.mp3") and [a.rsplit("/", 1)[1] for a in track.alternates] == ["t.ogg"]
    playlist = page_of(
        '<audio><source src="1.mp3" title="One" data-playlist-thumbnail="c.jpg">'
        '<source src="2.mp3" title="Two" data-playlist-thumbnail="c.jpg"></audio>'
    )
    assert names(Html5AudioExtractor().extract(playlist)) == [("1.mp3", "One"), ("2.mp3", "Two")]


def test_code_samples_and_templates_hold_no_tracks() -> None:
    page = page_of(
        '<pre><audio src="a.mp3"></audio></pre><code><a href="b.mp3">b</a></code>'
        '<template><audio src="c.mp3"></audio></template><p>&lt;audio src="d.mp3"&gt;</p>'
    )
    assert Html5AudioExtractor().extract(page) == []
    assert LinksExtractor().extract(page) == []


def test_mediaelement_leaves_wordpress_players_to_wordpress() -> None:
    page = page_of(
        '<script src="/wp-includes/js/mediaelement/mediaelement-and-player.min.js"></script>'
        '<audio class="wp-audio-shortcode"><source src="w.mp3?_=1"></audio><audio src="plain.mp3"></audio>'
    )
    assert names(MediaElementExtractor().extract(page)) == [("plain.mp3", None)]
    assert names(WordPressExtractor().extract(page)) == [("w.mp3", None)]


def test_odd_json_in_markup_never_raises() -> None:
    page = page_of(
        """<video-js data-setup='{"sources": [{"src": 5}, "s.mp3", {"src": "t.mp3", "type": "audio/mpeg"}'>
        <source src="m.mp3" type="audio/mpeg"></video-js>
        <video class="video-js" data-setup='[1, 2]'><source src="n.mp3" type="audio/mpeg"></video>
        <script type="application/json" class="wp-playlist-script">{"tracks": [{"src": null}, 3, "x"</script>
        <script type="application/json" class="wp-playlist-script">
            {"type": "video", "tracks": [{"src": "v.mp4"}]}</script>
        <div class="sqs-audio-embed" data-url="q.mp3" data-duration-in-ms="abc"></div>"""
    )
    assert names(VideoJsExtractor().extract(page)) == [("m.mp3", None), ("n.mp3", None)]
    assert WordPressExtractor().extract(page) == []
    (track,) = SquarespaceExtractor().extract(page)
    assert track.duration is None


def test_soundmanager2_needs_its_script_and_skips_excluded_links() -> None:
    html = (
        '<ul class="playlist"><li><a href="a.mp3">A</a> <a href="a.mp3" class="exclude">download</a></li>'
        '<li><a href="b.mp3" class="exclude">B (not played)</a></li></ul>'
    )
    assert SoundManager2Extractor().extract(page_of(html)) == []
    with_script = page_of('<script src="js/soundmanager2-jsmin.js"></script>' + html)
    assert names(SoundManager2Extractor().extract(with_script)) == [("a.mp3", "A")]


def test_links_group_formats_side_by_side_and_keep_tokens() -> None:
    page = page_of(
        '<li>Theme — <a href="theme.mp3">MP3</a> / <a href="theme.ogg">OGG</a></li>'
        '<li><a href="theme.mp3?sig=abc&amp;e=1">Theme (signed)</a></li>'
        '<li><a href="get?id=3" download="three.flac">Three</a> <a href="doc.pdf" download>Notes</a></li>'
    )
    tracks = LinksExtractor().extract(page)
    assert names(tracks) == [
        ("theme.mp3", "Theme"),
        ("theme.mp3?sig=abc&e=1", "Theme (signed)"),
        ("get?id=3", "Three"),
    ]
    assert [a.rsplit("/", 1)[1] for a in tracks[0].alternates] == ["theme.ogg"]
