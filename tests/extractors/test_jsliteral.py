"""The lenient JavaScript literal reader: table-driven cases and property tests."""

from __future__ import annotations

import json
import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiofetch.extractors._jsliteral import (
    MAX_DEPTH,
    Choice,
    Concat,
    JsValue,
    Opaque,
    Ref,
    parse_literal,
)
from audiofetch.extractors._jsresolve import resolve, string_variables
from audiofetch.extractors._jsscan import code_only, concatenations, find_assignments, find_calls, find_values

CASES = [
    ("{a: 1, 'b': \"x\", c: [1, 2,],}", {"a": 1, "b": "x", "c": [1, 2]}),
    (
        "[0x1F, 0o17, 0b101, 1e3, 2.5E-1, .5, -2, +3, 1_000, 10n]",
        [31, 15, 5, 1000, 0.25, 0.5, -2, 3, 1000, 10],
    ),
    ("[true, false, null, undefined, Infinity]", [True, False, None, None, math.inf]),
    (r"'a\/b\x41\u0042\u{1F600}\n\t\'q\''", "a/bAB\U0001f600\n\t'q'"),
    (r'"\uD83C\uDFB5 note"', "\U0001f3b5 note"),
    ('"line \\\ncontinued"', "line continued"),
    ("`plain template`", "plain template"),
    ("`${base}a.mp3`", Concat((Ref(("base",)), "a.mp3"))),
    ("`x ${'y' + 1} z`", "x y1 z"),
    ("{ /* block */ a: 1, // line\n b: 2 }", {"a": 1, "b": 2}),
    ("{title, file}", {"title": Ref(("title",)), "file": Ref(("file",))}),
    ("{[computed]: 1, ...rest, kept: 2}", {"kept": 2}),
    ("{onplay: function () { var x = {y: '}'}; return x; }, src: ['a.mp3']}", None),
    ("{ play() { return 1 }, get v() { return 2 }, n: 3 }", {"n": 3}),
    ("'./audio/' + data.file + '.mp3'", Concat(("./audio/", Ref(("data", "file")), ".mp3"))),
    (
        "mediaPath + tracks[id].file + ext",
        Concat((Ref(("mediaPath",)), Ref(("tracks", None, "file")), Ref(("ext",)))),
    ),
    ("list[0]['name']", Ref(("list", 0, "name"))),
    ("'a' + 'b' + 1 + 2", "ab12"),
    ("1 + 2 + 'x'", "3x"),
    ("c ? '.mp3' : d ? '.ogg' : ''", Choice((".mp3", ".ogg", ""))),
    ("'/a' + (ok ? '.mp3' : '.ogg')", Choice(("/a.mp3", "/a.ogg"))),
    ("document.getElementById('x')", Opaque("document.getElementById('x')")),
    ("(x) => x * 2", Opaque("(x) => x * 2")),
    ("[1, , 3]", [1, None, 3]),
    ("{1: 'one', 2.5: 'x', 0x10: 'h'}", {"1": "one", "2.5": "x", "16": "h"}),
    ("{'a': [{'b': [[]]}]}", {"a": [{"b": [[]]}]}),
    ("[-Infinity, -0x10]", [-math.inf, -16]),
    ("/re[/]x/g", Opaque("/re[/]x/g")),
]


@pytest.mark.parametrize(("source", "value"), CASES, ids=[case[0][:40] for case in CASES])
def test_parse_literal_reads_javascript_values(source, value):
    parsed, end = parse_literal(source)
    assert end == len(source)
    if value is None:  # only some keys are checked
        assert isinstance(parsed, dict)
        assert parsed.get("src", ["a.mp3"]) == ["a.mp3"]
        assert all(isinstance(v, Opaque) for k, v in parsed.items() if k in ("onplay", "play"))
    else:
        assert parsed == value


@pytest.mark.parametrize("source", ["", "   ", "{", "[1, 2", "'unterminated", ")", "`${`", "[1, (2]"])
def test_parse_literal_rejects_unreadable_input_with_value_error(source):
    with pytest.raises(ValueError):
        parse_literal(source)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("{a: }", Opaque("{a: }")),
        ("{'a': 1,,}", Opaque("{'a': 1,,}")),
        ("'\\u12'", Opaque("'\\u12'")),
        ("[1 2]", [Opaque("1 2")]),
        ("{a 1, b: 2}", {"b": 2}),
    ],
)
def test_malformed_but_balanced_input_is_kept_opaque_not_guessed(source, value):
    assert parse_literal(source) == (value, len(source))


def test_parse_literal_starts_at_an_offset_and_reports_the_end():
    text = "var x = [1, 2]; var y = 3;"
    value, end = parse_literal(text, text.index("["))
    assert value == [1, 2]
    assert text[end] == ";"


def test_deep_nesting_is_refused_not_recursed():
    with pytest.raises(ValueError):
        parse_literal("[" * 100_000 + "]" * 100_000)
    value, _ = parse_literal("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    assert isinstance(value, list)
    assert find_calls("f(" + "[" * 50_000, r"\bf") == []
    assert find_assignments("var a = " + "{a:" * 50_000) == {}


def test_crafted_repetition_stays_bounded():
    # Nested declarations and overlapping calls would be quadratic without the work budget.
    script = "var a = function(){ " * 3000 + "x" + " }" * 3000
    assert isinstance(find_assignments(script), dict)
    assert isinstance(find_calls("new Howl(" * 20_000, r"new\s+Howl", nested=True), list)
    assert concatenations("a + " * 50_000 + "'x'") != [] or True


def test_code_only_blanks_comments_but_keeps_strings_and_offsets():
    script = "var a = 'x // not a comment'; // comment\nvar b = /* c */ 1; var r = /\\/*/g;"
    code = code_only(script)
    assert len(code) == len(script)
    assert "'x // not a comment'" in code
    assert "comment\n" not in code and "/* c */" not in code
    assert "/\\/*/g" in code


def test_find_calls_skips_comments_and_strings_and_finds_nested_ones_on_request():
    script = """
    // new Howl({src: ['commented.mp3']})
    var s = "new Howl({src: ['in-a-string.mp3']})";
    var h = new Howl({src: ['real.mp3'], onend: function () { new Howl({src: ['inner.mp3']}); }});
    """
    assert [call.args[0]["src"] for call in find_calls(script, r"new\s+Howl")] == [["real.mp3"]]  # type: ignore[index, call-overload]
    nested = find_calls(script, r"new\s+Howl", nested=True)
    assert [call.args[0]["src"] for call in nested] == [["real.mp3"], ["inner.mp3"]]  # type: ignore[index, call-overload]
    assert nested[0].callee == "new Howl"


def test_find_calls_reads_every_argument():
    script = (
        '$("#jp").jPlayer("setMedia", {title: "Bubble", m4a: "a.m4a"}); jwplayer("x").setup({file: "f.mp3"})'
    )
    (call,) = find_calls(script, r"\.jPlayer")
    assert call.args == ("setMedia", {"title": "Bubble", "m4a": "a.m4a"})
    (setup,) = find_calls(script, r"jwplayer\s*\([^()]*\)\s*\.setup")
    assert setup.args == ({"file": "f.mp3"},)


def test_find_assignments_reads_declaration_lists_and_prefers_filled_values():
    script = """
    var index = 0, playing = false, mediaPath = 'https://x.invalid/m/', extension = '',
        tracks = [{"name": "A", "file": "a"}];
    extension = audio.canPlayType('audio/mpeg') ? '.mp3' : '.ogg';
    let later
    const ASI = 'no semicolon'
    var after = "next"
    """
    found = find_assignments(script)
    assert found["mediaPath"] == "https://x.invalid/m/"
    assert found["extension"] == Choice((".mp3", ".ogg"))
    assert found["tracks"] == [{"name": "A", "file": "a"}]
    assert found["ASI"] == "no semicolon" and found["after"] == "next"
    assert "later" not in found


def test_string_variables_resolve_earlier_strings():
    script = "var host = '/media/'; var dir = host + 'book/'; var n = 3; var url = dir + 'ch' + n + '.mp3';"
    assert string_variables(script) == {
        "host": "/media/",
        "dir": "/media/book/",
        "url": "/media/book/ch3.mp3",
    }


def test_concatenations_and_resolve_build_urls_per_item():
    script = "audio.src = mediaPath + tracks[id].file + extension; x = a + 1;"
    chain = concatenations(script)[0]
    env: dict[str, JsValue] = {
        "mediaPath": "/m/",
        "extension": Choice((".mp3", ".ogg")),
        "tracks[*]": {"file": "JLS"},
    }
    assert resolve(chain, env) == Choice(("/m/JLS.mp3", "/m/JLS.ogg"))
    assert resolve(Ref(("data", "file")), {"data": {"file": "x"}}) == "x"
    assert resolve(Ref(("missing",)), {}) == Ref(("missing",))
    assert resolve(Ref(("a",)), {"a": Ref(("a",))}) == Ref(("a",))  # no endless self-reference


def test_find_values_reads_the_expression_after_a_pattern():
    script = "player.source = {type: 'audio', sources: [{src: 'a.mp3'}]}; if (x.source == y) {}"
    assert find_values(script, r"\.source\s*=(?![=>])") == [{"type": "audio", "sources": [{"src": "a.mp3"}]}]


# Property tests --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


def _js_string(text: str, rng: random.Random) -> str:
    quote = rng.choice("'\"")
    out = []
    for char in text:
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif char == "/" and rng.random() < 0.5:
            out.append("\\/")
        elif ord(char) < 0x20 or char in "\u2028\u2029":
            forms = [f"\\u{ord(char):04x}", f"\\u{{{ord(char):x}}}"]
            out.append(rng.choice([*forms, f"\\x{ord(char):02x}"] if ord(char) < 0x100 else forms))
        else:
            out.append(char)
    return quote + "".join(out) + quote


def _render(value, rng: random.Random) -> str:
    """``value`` as hand-written JavaScript: unquoted keys, either quote, trailing commas, comments."""
    gap = rng.choice(["", " ", "\n  ", " /* note */ ", " // note\n"])
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: rng.choice(["null", "undefined"])}[value]
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else rng.choice([str(value), hex(value)])
    if isinstance(value, str):
        return _js_string(value, rng)
    trailing = rng.choice(["", ","])
    if isinstance(value, list):
        body = ("," + gap).join(_render(item, rng) for item in value)
        return "[" + gap + body + (trailing if value else "") + gap + "]"
    members = []
    for key, item in value.items():
        bare = _IDENTIFIER.fullmatch(key) and rng.random() < 0.7
        members.append((key if bare else _js_string(key, rng)) + gap + ":" + gap + _render(item, rng))
    return "{" + gap + ("," + gap).join(members) + (trailing if members else "") + gap + "}"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_reads_back_equal(value):
    text = json.dumps(value)
    assert parse_literal(text) == (value, len(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.integers(0, 2**32))
def test_hand_written_javascript_reads_back_equal(value, seed):
    text = _render(value, random.Random(seed))
    parsed, _ = parse_literal(text)
    assert parsed == value


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("{}[]()'\"`$\\/*+-?:,;.=\n xa01")), max_size=200)
    | st.text(max_size=200)
)
def test_arbitrary_text_only_ever_raises_value_error(text):
    try:
        parse_literal(text)
    except ValueError:
        pass
    assert isinstance(find_calls(text, r"\bx"), list)
    assert isinstance(find_assignments(text), dict)
    assert isinstance(string_variables(text), dict)
    assert isinstance(concatenations(text), list)
    assert len(code_only(text)) == len(text)
