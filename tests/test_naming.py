"""The one name sanitiser: table-driven cases plus hypothesis properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiofetch.naming import UniqueNames, sanitize_name, sanitize_path, split_extension, track_filename

RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³"
}
BIDI_AND_INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff"


def assert_safe_component(name: str) -> None:
    assert name not in ("", ".", "..")
    assert len(name.encode("utf-8")) <= 255
    assert not set(name) & set('/\\<>:"|?*\x00')
    assert not any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in name)
    assert not set(name) & set(BIDI_AND_INVISIBLE)
    assert not name.startswith((".", " "))
    assert not name.endswith((".", " "))
    assert "  " not in name
    assert name.partition(".")[0].rstrip(" ").upper() not in RESERVED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Song.mp3", "Song.mp3"),
        ("AC/DC - Thunder.mp3", "AC-DC - Thunder.mp3"),
        ("..\\..\\windows\\system32", "-..-windows-system32"),
        ("../../etc/passwd", "-..-etc-passwd"),
        ("..", "untitled"),
        (".", "untitled"),
        ("", "untitled"),
        ("   ", "untitled"),
        ("...", "untitled"),
        (".bashrc", "bashrc"),
        ("...mp3", "mp3"),
        ("Part 1: Intro", "Part 1 - Intro"),
        ('Say "hi"?', "Say 'hi'"),
        ("a<b>c*d|e", "a_b_c_d-e"),
        ("nul\x00byte", "nul byte"),
        ("line\nbreak\ttab\r", "line break tab"),
        ("del\x7fand\x85c1", "del and c1"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("a\u2066b\u2069c\u200ed\u200fe", "abcde"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("emoji 👩\u200d👩\u200d👧", "emoji 👩\u200d👩\u200d👧"),
        ("CON", "CON_"),
        ("con.txt", "con_.txt"),
        ("Aux.tar.gz", "Aux_.tar.gz"),
        ("COM1 .mp3", "COM1_.mp3"),
        ("lpt9", "lpt9_"),
        ("COM²", "COM²_"),
        ("CONSOLE.mp3", "CONSOLE.mp3"),
        ("trailing dots...", "trailing dots"),
        ("trailing space . ", "trailing space"),
        ("many   spaces\u00a0here", "many spaces here"),
        ("e\u0301cole", "école"),
    ],
)
def test_sanitize_name_table(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected
    assert_safe_component(sanitize_name(raw))


def test_sanitize_name_uses_the_fallback_and_never_returns_an_unsafe_fallback() -> None:
    assert sanitize_name("???", fallback="Track 01") == "Track 01"
    assert sanitize_name("..", fallback="..") == "untitled"
    assert sanitize_name("", fallback="CON") == "CON_"


@pytest.mark.parametrize("ext", [".mp3", ".flac", ".opus"])
@pytest.mark.parametrize("char", ["x", "é", "日", "𝄞"])
def test_sanitize_name_truncates_to_255_bytes_keeping_the_extension(char: str, ext: str) -> None:
    name = sanitize_name(char * 300 + ext)
    assert name.endswith(ext)
    assert 255 - len(char.encode()) < len(name.encode("utf-8")) <= 255
    assert set(name.removesuffix(ext)) == {char}


def test_sanitize_name_respects_a_smaller_byte_budget() -> None:
    assert sanitize_name("abcdefghijklmnop.mp3", max_bytes=12) == "abcdefgh.mp3"
    with pytest.raises(ValueError):
        sanitize_name("x", max_bytes=4)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1, 9, "Intro", "mp3"), "01 - Intro.mp3"),
        ((7, 120, "Song", "MP3"), "007 - Song.mp3"),
        ((12, 12, None, ".OGG"), "12 - Track 12.ogg"),
        ((3, 5, "  \u202e ", "m4a"), "03 - Track 03.m4a"),
        ((2, 5, "A/B: C?", "opus"), "02 - A-B - C.opus"),
        ((1000, 1000, "x", "flac"), "1000 - x.flac"),
        ((4, 5, "Mr. Blue Sky.", "mp3"), "04 - Mr. Blue Sky.mp3"),
        ((4, 5, "No ext", ""), "04 - No ext"),
    ],
)
def test_track_filename_table(args: tuple[int, int, str | None, str], expected: str) -> None:
    assert track_filename(*args) == expected


def test_track_filename_stays_within_255_bytes_with_its_extension() -> None:
    name = track_filename(5, 10, "ü" * 400, "flac")
    assert name.startswith("05 - ü") and name.endswith("ü.flac")
    assert len(name.encode("utf-8")) <= 255


def test_unique_names_number_duplicates_case_insensitively() -> None:
    names = UniqueNames()
    claimed = [names.claim(n) for n in ["a.mp3", "A.mp3", "a.MP3", "A (2).mp3", "Straße", "STRASSE", "x/y"]]
    assert claimed == ["a.mp3", "A (2).mp3", "a (3).MP3", "A (2) (2).mp3", "Straße", "STRASSE (2)", "x/y"]
    assert names.claim("X/Y") == "X/Y (2)"
    assert "A.MP3" in names and "b.mp3" not in names


def test_unique_names_stay_within_255_bytes() -> None:
    names = UniqueNames()
    long_name = sanitize_name("é" * 200 + ".mp3")
    first, second = names.claim(long_name), names.claim(long_name)
    assert first == long_name
    assert second.endswith(" (2).mp3") and len(second.encode("utf-8")) <= 255


def test_unique_names_scale_with_many_duplicates() -> None:
    names = UniqueNames()
    result = [names.claim("same.mp3") for _ in range(2000)]
    assert len({r.casefold() for r in result}) == 2000
    assert result[-1] == "same (2000).mp3"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a/b/c.mp3", "a/b/c.mp3"),
        ("/etc/passwd", "etc/passwd"),
        ("../../x.mp3", "x.mp3"),
        ("a/./b/../c", "a/b/c"),
        ("a\\b\\..\\c", "a/b/c"),
        ("C:\\Windows\\x", "C -/Windows/x"),
        ("//server/share/x", "server/share/x"),
        ("", "untitled"),
        ("../..", "untitled"),
        ("album/CON/.hidden", "album/CON_/hidden"),
    ],
)
def test_sanitize_path_table(raw: str, expected: str) -> None:
    assert sanitize_path(raw) == expected


def test_split_extension() -> None:
    assert split_extension("a.b.mp3") == ("a.b", ".mp3")
    assert split_extension("noext") == ("noext", "")
    assert split_extension("Mr. Blue Sky") == ("Mr. Blue Sky", "")
    assert split_extension(".mp3") == (".mp3", "")


# --- properties -----------------------------------------------------------------------------------

names = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list('/\\.:*?"<>| \x00\t\n') + list(BIDI_AND_INVISIBLE)),
        st.sampled_from(["CON", "nul", "Com1", "..", "LPT¹", ".mp3", "e\u0301"]),
    ),
    max_size=300,
).map("".join)


@given(names)
@settings(max_examples=400)
def test_sanitize_name_always_returns_one_safe_component(raw: str) -> None:
    result = sanitize_name(raw)
    assert_safe_component(result)
    assert sanitize_name(result) == result  # a safe name is left alone


@given(names, st.integers(min_value=8, max_value=300))
def test_sanitize_name_honours_any_budget(raw: str, max_bytes: int) -> None:
    result = sanitize_name(raw, max_bytes=max_bytes)
    assert result not in ("", ".", "..")
    assert len(result.encode("utf-8")) <= max_bytes


@given(
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Z")), min_size=1, max_size=300
    ),
    st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True),
)
def test_sanitize_name_keeps_a_simple_extension(stem: str, ext: str) -> None:
    result = sanitize_name(f"{stem}.{ext}")
    if stem.strip(".?"):
        assert result.endswith(f".{ext}")
    else:  # nothing of the stem survives: the extension is all that is left of the name
        assert result in (ext, f"{ext}_")


@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.one_of(st.none(), names),
    st.sampled_from(["mp3", "M4A", ""]),
)
def test_track_filename_is_safe_and_sorts_by_number(
    index: int, total: int, title: str | None, ext: str
) -> None:
    result = track_filename(index, total, title, ext)
    assert_safe_component(result)
    assert result.startswith(str(index).zfill(max(2, len(str(total)))) + " - ")
    assert result.endswith(f".{ext.lower()}" if ext else "")
    assert sanitize_name(result) == result


@given(st.lists(names, max_size=40))
def test_unique_names_never_hand_out_the_same_name_twice(raws: list[str]) -> None:
    unique = UniqueNames()
    claimed = [unique.claim(sanitize_name(raw)) for raw in raws]
    keys = [unicodedata.normalize("NFC", c).casefold() for c in claimed]
    assert len(set(keys)) == len(keys)
    for name in claimed:
        assert_safe_component(name)


@given(st.text(max_size=300))
def test_sanitize_path_never_escapes(raw: str) -> None:
    result = sanitize_path(raw)
    assert not result.startswith("/")
    for part in result.split("/"):
        assert_safe_component(part)
