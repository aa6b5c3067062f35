"""The shared readers of the structured-data extractors: safe XML, durations, JSON, M3U lines."""

from __future__ import annotations

import pytest

from audiofetch.extractors._structured import (
    load_json,
    parse_duration,
    parse_xml,
    read_m3u,
    split_artist_title,
    stream_reason_unless_finite,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1947, 1947.0),
        ("1947", 1947.0),
        ("00:36:21", 2181.0),
        ("12:04", 724.0),
        ("PT1H2M3S", 3723.0),
        ("PT38M", 2280.0),
        ("P00H03M56S", 236.0),
        ("PT1M30.5S", 90.5),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        (True, None),
        (None, None),
        ("P", None),
    ],
)
def test_parse_duration_reads_numbers_clocks_and_iso_8601(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def test_parse_duration_scales_milliseconds_for_xspf() -> None:
    assert parse_duration("187512", milliseconds=True) == 187.512


def test_parse_xml_keeps_namespaces_like_elementtree() -> None:
    root = parse_xml(
        '<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><itunes:author>A</itunes:author></rss>'
    )
    assert root is not None
    assert root[0].tag == "{http://www.itunes.com/dtds/podcast-1.0.dtd}author"


def test_parse_xml_refuses_entity_declarations() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><rss>&lol2;</rss>'
    )
    assert parse_xml(bomb) is None


def test_parse_xml_refuses_external_entities_without_reading_them() -> None:
    doc = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    assert parse_xml(doc) is None


def test_parse_xml_skips_undefined_html_entities_instead_of_failing() -> None:
    root = parse_xml("<rss><title>Tape&nbsp;&amp; Hiss</title></rss>")
    assert root is not None
    assert "".join(root[0].itertext()) == "Tape& Hiss"


def test_parse_xml_returns_none_on_broken_documents() -> None:
    assert parse_xml("<rss><channel></rss>") is None
    assert parse_xml("") is None


def test_load_json_accepts_cdata_wrappers_and_raw_newlines() -> None:
    assert load_json('//<![CDATA[\n{"name": "a\nb"}\n//]]>') == {"name": "a\nb"}
    assert load_json("{broken") is None
    assert load_json("[" * 100_000 + "]" * 100_000) is None  # too deep: refused, never raised


def test_read_m3u_attaches_extinf_to_the_next_entry_only() -> None:
    listing = read_m3u(
        '#EXTM3U\n#EXTINF:-1 tvg-id="r1" group-title="Radio",Harbour Radio\nhttp://h/s\nb.mp3\n'
    )
    assert [(e.ref, e.duration, e.text) for e in listing.entries] == [
        ("http://h/s", -1.0, "Harbour Radio"),
        ("b.mp3", None, ""),
    ]
    assert listing.hls_tags == frozenset()


def test_split_artist_title_follows_the_m3u_convention() -> None:
    assert split_artist_title("Lena Hart - Opening") == ("Lena Hart", "Opening")
    assert split_artist_title("Opening") == (None, "Opening")
    assert split_artist_title(" - Opening") == (None, "- Opening")


def test_known_duration_overrides_url_name_stream_heuristics_but_not_hls_or_rtmp() -> None:
    assert stream_reason_unless_finite("/api/ep-11/stream?t=1", 2011.0) is None
    assert stream_reason_unless_finite("/api/ep-11/stream?t=1", None) is not None
    assert stream_reason_unless_finite("https://h/ep.m3u8", 60.0) is not None
    assert stream_reason_unless_finite("rtmp://h/live", 60.0) is not None
