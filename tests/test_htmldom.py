"""htmldom against html5lib's private tokenizer: the pin in setup.cfg and the pieces htmldom reads."""

from __future__ import annotations

import configparser
import re
from importlib.metadata import version
from pathlib import Path

import html5lib.constants

from audiofetch.htmldom import parse_html

ROOT = Path(__file__).resolve().parent.parent
SWITCHED_STATES = ("scriptDataState", "rawtextState", "rcdataState", "plaintextState")


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_the_installed_html5lib_is_inside_the_pin_of_setup_cfg() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    requires = config["options"]["install_requires"].split()
    requirement = next(line for line in requires if line.startswith("html5lib"))
    bounds = dict(re.findall(r"(>=|<)([\d.]+)", requirement))
    assert set(bounds) == {">=", "<"}, f"setup.cfg must pin html5lib from both sides, not {requirement!r}"
    installed = _release(version("html5lib"))
    assert _release(bounds[">="]) <= installed < _release(bounds["<"]), (
        f"html5lib {version('html5lib')} is outside {requirement!r}: htmldom uses its private tokenizer"
    )


def test_the_private_tokenizer_still_has_what_htmldom_reads() -> None:
    from html5lib import _tokenizer

    tokenizer = _tokenizer.HTMLTokenizer("<p>")
    missing = [name for name in SWITCHED_STATES if not callable(getattr(tokenizer, name, None))]
    assert not missing, f"html5lib._tokenizer.HTMLTokenizer lost {missing}: htmldom switches to them"
    token_kinds = {"StartTag", "EndTag", "EmptyTag", "Characters", "SpaceCharacters"}
    assert token_kinds <= set(html5lib.constants.tokenTypes), "html5lib.constants.tokenTypes changed"
    tokens = list(_tokenizer.HTMLTokenizer('<a href="x" id=y>'))
    assert tokens[0]["name"] == "a" and dict(tokens[0]["data"]) == {"href": "x", "id": "y"}


def test_each_switched_state_keeps_its_element_body_as_text() -> None:
    root = parse_html(
        "<script>if (a<b) x('</p>')</script><style>p<b{}</style><title>a <b>c</b></title>"
        "<textarea><i>t</i></textarea><plaintext><b>rest"
    )
    bodies = {node.tag: node.text() for node in root.iter() if node.tag != "#document"}
    assert bodies == {
        "script": "if (a<b) x('</p>')",
        "style": "p<b{}",
        "title": "a <b>c</b>",
        "textarea": "<i>t</i>",
        "plaintext": "<b>rest",
    }
