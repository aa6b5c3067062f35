"""A light, linear-time DOM built from html5lib's tokenizer.

Why not html5lib's tree builder: its adoption-agency and formatting-element steps are quadratic on crafted
input (``"<b>" * N + "</p>" * N`` takes seconds at 56 KB). Extractors only need elements, attributes, text
and script bodies, so we build a forgiving tree from the token stream ourselves: every token costs O(1)
amortised (an end tag with no open element of that name is dropped in O(1) via a per-name counter; one
that matches pops each element at most once), nesting is capped, and traversal is iterative. Misnested
markup gives a slightly different tree than a browser's, never an exception or a hang.

``html5lib._tokenizer`` is private, so ``setup.cfg`` pins html5lib to the releases tested here
(``tests/test_htmldom.py`` checks the pieces used) and a missing module says so at import.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable, Iterator

from html5lib.constants import tokenTypes

try:
    from html5lib._tokenizer import HTMLTokenizer
except ImportError as exc:  # a release without the private module: say which pin to keep
    raise ImportError("htmldom reads html5lib._tokenizer: install the html5lib setup.cfg pins") from exc

__all__ = ["MAX_DEPTH", "Node", "decode_html", "parse_html"]

MAX_DEPTH = 256
_VOID = frozenset(
    """area base br col embed hr img input keygen link meta param source track wbr basefont bgsound
    frame""".split()  # noqa: SIM905 (a word list reads better than 18 quoted strings)
)
_RAWTEXT = frozenset(["style", "xmp", "iframe", "noembed", "noframes"])
_RCDATA = frozenset(("title", "textarea"))
# Start tags that close an open element of the same family when it is the current one.
_SELF_CLOSING_SIBLINGS = {
    "p": {"p"},
    "li": {"li"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
    "option": {"option"},
    "tr": {"tr", "td", "th"},
    "td": {"td", "th"},
    "th": {"td", "th"},
}
_START, _END, _EMPTY = tokenTypes["StartTag"], tokenTypes["EndTag"], tokenTypes["EmptyTag"]
_TEXT = (tokenTypes["Characters"], tokenTypes["SpaceCharacters"])


class Node:
    """An element: lower-case ``tag``, ``attrs``, ``children`` (nodes and text strings), ``parent``."""

    __slots__ = ("attrs", "children", "parent", "tag")

    def __init__(self, tag: str, attrs: dict[str, str] | None = None, parent: Node | None = None) -> None:
        self.tag = tag
        self.attrs: dict[str, str] = attrs or {}
        self.children: list[Node | str] = []
        self.parent = parent

    def __repr__(self) -> str:
        return f"<Node {self.tag} {self.attrs!r}>"

    def get(self, name: str, default: str | None = None) -> str | None:
        """Attribute value, or ``default``."""
        return self.attrs.get(name, default)

    def iter(self) -> Iterator[Node]:
        """This node and every descendant element, in document order (iterative, no recursion)."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(child for child in reversed(node.children) if isinstance(child, Node))

    def find_all(self, match: str | Callable[[Node], bool]) -> list[Node]:
        """Descendants (and self) whose tag equals ``match``, or for which ``match(node)`` is true."""
        if isinstance(match, str):
            return [node for node in self.iter() if node.tag == match]
        return [node for node in self.iter() if match(node)]

    def find(self, match: str | Callable[[Node], bool]) -> Node | None:
        """First match of ``find_all`` or None."""
        for node in self.iter():
            if (node.tag == match) if isinstance(match, str) else match(node):
                return node
        return None

    def text(self, skip: Callable[[Node], bool] | None = None) -> str:
        """All descendant text in document order; a descendant ``skip`` picks counts as one space."""
        parts: list[str] = []
        stack: list[Node | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
            elif item is self or skip is None or not skip(item):
                stack.extend(reversed(item.children))
            else:
                parts.append(" ")
        return "".join(parts)

    def ancestors(self) -> Iterator[Node]:
        """Parent, grandparent, ... up to the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def classes(self) -> list[str]:
        """The ``class`` attribute split on whitespace."""
        return (self.attrs.get("class") or "").split()


def parse_html(text: str) -> Node:
    """Parse HTML into a ``Node`` tree rooted at a ``#document`` node, in time linear in ``len(text)``."""
    root = Node("#document")
    stack: list[Node] = [root]
    open_count: Counter[str] = Counter()
    tokenizer = HTMLTokenizer(text)
    for token in tokenizer:
        kind = token["type"]
        if kind in _TEXT:
            current = stack[-1]
            if current.children and isinstance(current.children[-1], str):
                current.children[-1] += token["data"]
            else:
                current.children.append(token["data"])
        elif kind in (_START, _EMPTY):
            name = token["name"]
            closes = _SELF_CLOSING_SIBLINGS.get(name)
            if closes and stack[-1].tag in closes and len(stack) > 1:
                open_count[stack.pop().tag] -= 1
            node = Node(name, dict(token["data"]), stack[-1])
            stack[-1].children.append(node)
            if name in _VOID:  # as in browsers, "/>" on a non-void element does not close it
                continue
            if name == "script":
                tokenizer.state = tokenizer.scriptDataState
            elif name in _RAWTEXT:
                tokenizer.state = tokenizer.rawtextState
            elif name in _RCDATA:
                tokenizer.state = tokenizer.rcdataState
            elif name == "plaintext":
                tokenizer.state = tokenizer.plaintextState
            if len(stack) < MAX_DEPTH:
                stack.append(node)
                open_count[name] += 1
        elif kind == _END:
            name = token["name"]
            if open_count[name] > 0:
                while len(stack) > 1:
                    popped = stack.pop()
                    open_count[popped.tag] -= 1
                    if popped.tag == name:
                        break
    return root


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str = "") -> str:
    """Decode a page: BOM, then the Content-Type charset, then ``<meta charset>``, then UTF-8 (lenient)."""
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace")
    match = _HEADER_CHARSET.search(content_type or "")
    codec = _known_codec(match.group(1) if match else None)
    if codec is None:
        meta = _META_CHARSET.search(body[:4096])
        codec = _known_codec(meta.group(1).decode("ascii", "replace") if meta else None)
    if codec is not None:
        return body.decode(codec, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("windows-1252", errors="replace")
