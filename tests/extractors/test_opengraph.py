"""opengraph: ``og:audio`` objects and ``twitter:player:stream``."""

from __future__ import annotations

from audiofetch.extractors.opengraph import OpenGraphExtractor
from audiofetch.models import Page
from tests.extractors.structured_pages import HOST, fixture_page, text_page

EXTRACTOR = OpenGraphExtractor()


def meta_page(*pairs: tuple[str, str]) -> Page:
    tags = "".join(f'<meta property="{k}" content="{v}">' for k, v in pairs)
    return text_page(f"{HOST}/ep/1", f"<html><head>{tags}</head><body></body></html>")


def test_episode_fixture_prefers_secure_url_of_the_same_file_and_og_title() -> None:
    [track] = EXTRACTOR.extract(fixture_page("opengraph/episode.html", "text/html"))
    assert (track.url, track.title, track.alternates, track.mime) == (
        "https://127.0.0.1/media/ep-17-night-trains.mp3",
        "17 · Night Trains",
        (),
        "audio/mpeg",
    )


def test_twitter_card_fixture_reads_the_player_stream() -> None:
    [track] = EXTRACTOR.extract(fixture_page("opengraph/twitter-card.html", "text/html"))
    assert (track.url, track.title) == (
        f"{HOST}/opengraph/media/voice-memo-0311.m4a",
        "Voice memo: the harbour at 5 a.m.",
    )


def test_secure_url_of_another_file_stays_an_alternate() -> None:
    page = meta_page(
        ("og:audio", "http://127.0.0.1/a.mp3"), ("og:audio:secure_url", "https://127.0.0.1/b.mp3")
    )
    [track] = EXTRACTOR.extract(page)
    assert (track.url, track.alternates) == ("http://127.0.0.1/a.mp3", ("https://127.0.0.1/b.mp3",))


def test_og_audio_url_is_a_synonym_not_a_second_track() -> None:
    page = meta_page(("og:audio", "/m/a.mp3"), ("og:audio:url", "/m/a.mp3"), ("og:audio:type", "audio/mpeg"))
    assert [t.url for t in EXTRACTOR.extract(page)] == [f"{HOST}/m/a.mp3"]


def test_several_og_audio_objects_are_several_tracks_titled_only_by_their_own_tags() -> None:
    page = meta_page(
        ("og:title", "Split EP"),
        ("og:audio", "/m/1.mp3"),
        ("og:audio:title", "Side A"),
        ("og:audio", "/m/2.ogg"),
    )
    assert [(t.url, t.title) for t in EXTRACTOR.extract(page)] == [
        (f"{HOST}/m/1.mp3", "Side A"),
        (f"{HOST}/m/2.ogg", None),
    ]


def test_non_audio_types_and_untyped_pages_are_left_out() -> None:
    flash = meta_page(
        ("og:audio", "http://127.0.0.1/player.swf?id=3"), ("og:audio:type", "application/x-shockwave-flash")
    )
    page_url = meta_page(("og:audio", "http://127.0.0.1/listen/3"))
    video = text_page(
        f"{HOST}/v",
        '<html><head><meta name="twitter:player:stream" content="/v.mp4">'
        '<meta name="twitter:player:stream:content_type" content="video/mp4"></head></html>',
    )
    assert (
        EXTRACTOR.extract(flash) == []
        and EXTRACTOR.extract(page_url) == []
        and EXTRACTOR.extract(video) == []
    )


def test_typed_audio_without_extension_is_kept() -> None:
    page = meta_page(
        ("og:audio", "/episodes/4/download"), ("og:audio:type", "audio/mpeg"), ("og:title", "Four")
    )
    [track] = EXTRACTOR.extract(page)
    assert (track.url, track.title) == (f"{HOST}/episodes/4/download", "Four")


def test_meta_tags_inside_a_code_sample_are_ignored() -> None:
    body = '<html><body><pre><meta property="og:audio" content="a.mp3"></pre></body></html>'
    assert EXTRACTOR.extract(text_page(f"{HOST}/docs", body)) == []


def test_markup_shown_as_code_is_not_meta() -> None:
    page = text_page(
        f"{HOST}/docs",
        '<html><body><pre>&lt;meta property="og:audio" content="a.mp3"&gt;</pre></body></html>',
    )
    assert not EXTRACTOR.detects(page)
    assert EXTRACTOR.extract(page) == []
