"""Grouping one media's many URLs into one track: property tests and the cases real pages show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from audiofetch.detect import group_tracks, media_key
from audiofetch.detect._group import unwrap_tracking
from audiofetch.models import Track

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=10).filter(
    lambda w: not w.isdigit() or len(w) > 3
)
# File stems as sites write them: words joined by dashes or underscores, episode numbers.
STEMS = st.builds(
    lambda words, sep, number: sep.join(words) + (f"{sep}{number}" if number is not None else ""),
    st.lists(WORDS, min_size=1, max_size=3),
    st.sampled_from(["-", "_"]),
    st.none() | st.integers(min_value=1, max_value=999),
).filter(lambda stem: stem not in ("player", "download", "feed", "audio", "media", "secure"))
HOSTS = st.sampled_from(["example.com", "media.example.org", "cdn.podhost.example", "127.0.0.1:8080"])
DIRS = st.lists(WORDS.map(lambda w: f"d{w}"), max_size=3)
EXTS = st.sampled_from(["mp3", "m4a", "ogg", "opus", "aac", "flac", "oga"])
POSITION = st.sampled_from(["player", "download", "s/webplayer/c/episode", "s/download", "share", "embed"])
FLAGS = st.sampled_from(["dl=1", "download=true", "ref=player", "src=site", "source=feed", "utm_source=x"])
TRACKERS = st.sampled_from(
    [
        "https://dts.podtrac.example/redirect.mp3/",
        "https://chtbl.example/track/A1B2C3/",
        "https://op3.example/e/https://",
        "https://pfx.tracker.example/p/12ab/",
    ]
)


def url(host: str, dirs: list[str], stem: str, ext: str, query: str = "") -> str:
    path = "/".join([*dirs, f"{stem}.{ext}"])
    return f"https://{host}/{path}" + (f"?{query}" if query else "")


def tracks(*urls: str) -> list[Track]:
    return [Track(u, title=f"t{n}") for n, u in enumerate(urls)]


@given(HOSTS, DIRS, STEMS, STEMS, EXTS, EXTS, st.none() | FLAGS, st.none() | POSITION)
def test_never_merges_two_different_stems(host, dirs, one, two, ext1, ext2, flag, position) -> None:
    if one == two:
        return
    first = url(host, dirs, one, ext1)
    second = url(host, [*dirs, *([position] if position else [])], two, ext2, flag or "")
    assert media_key(first) != media_key(second)
    assert len(group_tracks(tracks(first, second))) == 2


@given(HOSTS, DIRS, STEMS, st.lists(EXTS, min_size=2, max_size=4, unique=True), st.booleans())
def test_always_merges_format_siblings(host, dirs, stem, exts, format_dirs) -> None:
    urls = [url(host, [*dirs, *([ext] if format_dirs else [])], stem, ext) for ext in exts]
    grouped = group_tracks(tracks(*urls))
    assert len(grouped) == 1
    assert [grouped[0].url, *grouped[0].alternates] == urls
    assert grouped[0].title == "t0"


@given(HOSTS, DIRS, STEMS, EXTS, st.lists(TRACKERS, min_size=1, max_size=3))
def test_tracking_prefix_chains_are_unwrapped(host, dirs, stem, ext, chain) -> None:
    plain = url(host, dirs, stem, ext)
    wrapped = plain
    for prefix in chain:
        wrapped = prefix + wrapped.removeprefix("https://")
    assert unwrap_tracking(wrapped) == plain
    assert media_key(wrapped) == media_key(plain)
    assert len(group_tracks(tracks(wrapped, plain))) == 1


@given(HOSTS, DIRS, STEMS, EXTS, EXTS, POSITION, st.integers(0, 3), st.lists(FLAGS, max_size=2))
def test_link_position_segments_and_download_flags_are_one_track(
    host, dirs, stem, ext, other_ext, position, where, flags
) -> None:
    at = min(where, len(dirs))
    placed = [*dirs[:at], position, *dirs[at:]]
    variant = url(host, placed, stem, other_ext, "&".join(flags))
    assert media_key(variant) == media_key(url(host, dirs, stem, ext))


@given(HOSTS, STEMS, EXTS, st.integers(1, 10**6), st.integers(1, 10**6))
def test_different_episode_ids_stay_apart(host, stem, ext, one, two) -> None:
    if one == two:
        return
    assert media_key(url(host, ["e", str(one)], "media", ext)) != media_key(
        url(host, ["e", str(two)], "media", ext)
    )
    by_query = [f"https://{host}/play.php?episode={n}" for n in (one, two)]
    assert len(group_tracks(tracks(*by_query))) == 2
    by_file = [f"https://{host}/stream.php?src={stem}-{n}.{ext}" for n in (one, two)]
    assert len(group_tracks(tracks(*by_file))) == 2


def test_an_album_s_tracks_with_equal_names_in_different_folders_stay_apart() -> None:
    urls = ["https://x.example/album-one/01.mp3", "https://x.example/album-two/01.mp3"]
    assert len(group_tracks(tracks(*urls))) == 2


def test_grouped_track_keeps_the_first_address_and_fills_gaps_from_the_others() -> None:
    first = Track("https://site.example/s/webplayer/ep7.m4a", title=None, extractor="podlove")
    second = Track(
        "https://site.example/s/download/ep7.mp3?dl=1", title="Ep 7", artist="Ann", extractor="links"
    )
    grouped = group_tracks([first, second])
    assert grouped == [
        Track(
            "https://site.example/s/webplayer/ep7.m4a",
            title="Ep 7",
            artist="Ann",
            alternates=("https://site.example/s/download/ep7.mp3?dl=1",),
            extractor="podlove",
        )
    ]
