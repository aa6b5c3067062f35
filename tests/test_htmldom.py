"""htmldom reads html5lib's private tokenizer: the pin in setup.cfg and the pieces it relies on."""

from __future__ import annotations

import configparser
import re
from importlib.metadata import version
from pathlib import Path

from html5lib import _tokenizer, constants

from audiofetch.htmldom import parse_html

SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_the_installed_html5lib_is_inside_the_pin_of_setup_cfg() -> None:
    config = configparser.ConfigParser()
    config.read(SETUP_CFG, encoding="utf-8")
    requirement = next(r for r in config["options"]["install_requires"].split() if r.startswith("html5lib"))
    bounds = dict(re.findall(r"(>=|<)([\d.]+)", requirement))
    assert set(bounds) == {">=", "<"}, f"setup.cfg must pin html5lib from both sides, not {requirement!r}"
    assert _release(bounds[">="]) <= _release(version("html5lib")) < _release(bounds["<"]), (
        f"html5lib {version('html5lib')} is outside {requirement!r}: htmldom uses its private tokenizer"
    )


def test_the_private_tokenizer_still_has_what_htmldom_reads() -> None:
    states = ("scriptDataState", "rawtextState", "rcdataState", "plaintextState")
    missing = [name for name in states if not callable(getattr(_tokenizer.HTMLTokenizer(""), name, None))]
    assert not missing, f"html5lib._tokenizer.HTMLTokenizer lost {missing}: htmldom switches to them"
    kinds = {"StartTag", "EndTag", "EmptyTag", "Characters", "SpaceCharacters"}
    assert kinds <= set(constants.tokenTypes), "html5lib.constants.tokenTypes changed: htmldom reads them"
    (token,) = _tokenizer.HTMLTokenizer('<a href="x" id=y>')
    assert (token["name"], dict(token["data"])) == ("a", {"href": "x", "id": "y"})


def test_each_switched_state_keeps_its_element_body_as_text() -> None:
    root = parse_html(
        "<script>if (a<b) x('</p>')</script><style>p<b{}</style><title>a <b>c</b></title>"
        "<textarea><i>t</i></textarea><plaintext><b>rest"
    )
    assert {node.tag: node.text() for node in root.iter() if node.tag != "#document"} == {
        "script": "if (a<b) x('</p>')",
        "style": "p<b{}",
        "title": "a <b>c</b>",
        "textarea": "<i>t</i>",
        "plaintext": "<b>rest",
    }
