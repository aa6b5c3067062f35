"""feeds: RSS 2.0 and Atom podcast feeds, read safely."""

from __future__ import annotations

import pytest

from audiofetch.extractors.feeds import FeedExtractor
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = FeedExtractor()


def rss(items: str, head: str = "") -> str:
    return (
        f'<?xml version="1.0"?>{head}<rss version="2.0"><channel><title>Show</title>{items}</channel></rss>'
    )


def test_rss_fixture_gives_audio_enclosures_in_feed_order_with_metadata() -> None:
    page = fixture_page("feeds/podcast.rss", "application/rss+xml")
    assert EXTRACTOR.detects(page)
    tracks = EXTRACTOR.extract(page)
    assert [(t.url, t.title, t.artist, t.duration) for t in tracks] == [
        (
            f"{HOST}/feeds/media/episode-003.mp3",
            "Episode 3: Field Recording in the Rain",
            "Mira Okafor",
            2181.0,
        ),
        (f"{HOST}/feeds/media/episode-002.m4a", "Episode 2: Tape & Hiss", "Mira Okafor & Jonas Berg", 1947.0),
        ("https://cdn.example.invalid/shows/qh/episode-001.mp3", "Episode 1: Hello", "Mira Okafor", 724.0),
    ]
    assert {t.album for t in tracks} == {"Quiet Hours"}
    assert tracks[1].alternates == (f"{HOST}/feeds/media/episode-002.mp3",)
    assert all(t.extractor == "feeds" for t in tracks)


def test_atom_fixture_uses_enclosure_links_and_leaves_out_pdf_and_video() -> None:
    page = fixture_page("feeds/episodes.atom", "application/atom+xml")
    tracks = EXTRACTOR.extract(page)
    assert [(t.url, t.artist, t.album) for t in tracks] == [
        (f"{HOST}/feeds/audio/2024-03-talk.ogg", "Ada Lindqvist", "Conference Talks (audio)"),
        (f"{HOST}/feeds/audio/2024-02-talk.mp3", "Spring Meetup", "Conference Talks (audio)"),
    ]


def test_enclosure_without_type_is_judged_by_extension() -> None:
    page = text_page(
        f"{HOST}/f.xml",
        rss(
            '<item><title>A</title><enclosure url="a.opus"/></item>'
            '<item><title>B</title><enclosure url="b.jpg"/></item>'
        ),
        "application/xml",
    )
    assert [t.title for t in EXTRACTOR.extract(page)] == ["A"]


def test_media_rss_content_is_used_when_an_item_has_no_enclosure() -> None:
    items = (
        '<item><title>A</title><media:group><media:content url="a.ogg" type="audio/ogg"/>'
        '<media:content url="a.mp3" type="audio/mpeg"/></media:group></item>'
    )
    body = rss(items).replace("<rss ", '<rss xmlns:media="http://search.yahoo.com/mrss/" ')
    [track] = EXTRACTOR.extract(text_page(f"{HOST}/f.rss", body, "application/rss+xml"))
    assert (track.url, track.alternates) == (f"{HOST}/a.ogg", (f"{HOST}/a.mp3",))


def test_live_stream_enclosures_are_reported_not_downloaded() -> None:
    page = text_page(
        f"{HOST}/f.rss",
        rss(
            '<item><title>Live</title><enclosure url="https://radio.example.invalid/live.m3u8"'
            ' type="audio/mpegurl"/></item>'
        ),
        "application/rss+xml",
    )
    assert EXTRACTOR.extract(page) == []
    assert [s.url for s in EXTRACTOR.skipped(page)] == ["https://radio.example.invalid/live.m3u8"]


@pytest.mark.parametrize(
    "head",
    [
        '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>',
    ],
)
def test_feeds_declaring_entities_are_refused(head: str) -> None:
    page = text_page(
        f"{HOST}/f.rss",
        rss('<item><title>&b;</title><enclosure url="a.mp3" type="audio/mpeg"/></item>', head),
        "application/rss+xml",
    )
    assert EXTRACTOR.extract(page) == []
    assert EXTRACTOR.skipped(page) == []


def test_billion_laughs_is_refused_quickly_without_expansion() -> None:
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = rss("<item><title>&l9;</title></item>", f"<!DOCTYPE rss [{entities}]>")
    assert EXTRACTOR.extract(text_page(f"{HOST}/f.rss", body, "application/rss+xml")) == []


def test_broken_xml_and_non_feeds_give_nothing() -> None:
    assert EXTRACTOR.extract(text_page(f"{HOST}/f.rss", "<rss><channel><item>", "application/rss+xml")) == []
    assert EXTRACTOR.extract(text_page(f"{HOST}/", "<html><body><rss></rss></body></html>")) == []
    assert not EXTRACTOR.detects(text_page(f"{HOST}/s.svg", '<?xml version="1.0"?><svg/>', "image/svg+xml"))
