"""What the JavaScript literal reader gives back when it cannot evaluate everything, and ``+`` itself.

A value is JSON-like data plus four kinds of leftover the extractors finish themselves:

- ``Ref(path)``: a name or member path (``data.file``, ``tracks[*].file``; ``[*]`` is a computed index);
- ``Concat(parts)``: a ``+`` chain that still holds a ``Ref`` or a ``Choice``;
- ``Choice(options)``: the branches of a ternary (``canPlayType(..) ? '.mp3' : '.ogg'``);
- ``Opaque(text)``: any other expression (functions, calls), skipped as a whole.

``fold`` evaluates a ``+`` chain as far as its parts allow, as JavaScript would, shared by the reader
and by ``_jsresolve`` once references are filled in. Choices stay flat and capped so resolving chains
of ternaries stays linear; strings are capped so doubling chains cannot grow as 2**n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from audiofetch.extractors._budget import current_budget

__all__ = [
    "Call",
    "Choice",
    "Concat",
    "JsValue",
    "Opaque",
    "Ref",
    "choice",
    "choice_options",
    "fold",
    "is_primitive",
    "js_str",
]

_MAX_CHOICES = 8
_MAX_STRING = 1 << 20  # a concatenation longer than this is not built (doubling chains would be 2**n)
_CHARS_PER_STEP = 4096  # characters of new strings ``fold`` builds per step charged to the page's budget


@dataclass(frozen=True, slots=True)
class Ref:
    """A name or member path left unevaluated: ``("tracks", None, "file")`` is ``tracks[*].file``."""

    path: tuple[str | int | None, ...]

    @property
    def text(self) -> str:
        """Canonical spelling: ``a.b[0][*].c``."""
        out = str(self.path[0])
        for part in self.path[1:]:
            out += f".{part}" if isinstance(part, str) else f"[{'*' if part is None else part}]"
        return out


@dataclass(frozen=True, slots=True)
class Concat:
    """A ``+`` chain that still holds references or choices, parts in source order."""

    parts: tuple[JsValue, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """The possible values of a ternary, in source order (the first is what a capable browser picks)."""

    options: tuple[JsValue, ...]


@dataclass(frozen=True, slots=True)
class Opaque:
    """An expression the reader does not evaluate (a function, a call, arithmetic); ``text`` is its source."""

    text: str


JsValue: TypeAlias = (
    dict[str, "JsValue"] | list["JsValue"] | str | int | float | bool | Ref | Concat | Choice | Opaque | None
)


@dataclass(frozen=True, slots=True)
class Call:
    """One call found in a script: its argument values and where it sits."""

    args: tuple[JsValue, ...]
    start: int
    end: int
    callee: str = ""


def js_str(value: object) -> str:
    """A primitive as JavaScript's string conversion writes it (what ``"a" + 1`` gives)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    return str(value)


def choice_options(value: JsValue) -> tuple[JsValue, ...]:
    return value.options if isinstance(value, Choice) else (value,)


def choice(options: list[JsValue]) -> Choice:
    """A ``Choice`` of ``options`` with nested choices flattened, at most ``_MAX_CHOICES`` of them.

    Flat and capped, a choice never holds another: resolving chains of ternaries stays linear.
    """
    flat: list[JsValue] = []
    for option in options:
        flat.extend(choice_options(option))
    return Choice(tuple(flat[:_MAX_CHOICES]))


def fold(parts: list[JsValue]) -> JsValue:
    """Evaluate ``a + b + ...`` as far as the parts allow; choices distribute over the chain."""
    if any(isinstance(part, Choice) for part in parts):
        combos: list[list[JsValue]] = [[]]
        for part in parts:
            combos = [[*combo, option] for combo in combos for option in choice_options(part)][:_MAX_CHOICES]
        return choice([fold(combo) for combo in combos])
    folded: list[JsValue] = []
    built = 0  # characters of new strings, charged to the page's budget
    for part in parts:
        if folded and is_primitive(folded[-1]) and is_primitive(part):
            left, right = folded[-1], part
            if isinstance(left, str) or isinstance(right, str):
                joined = js_str(left), js_str(right)
                size = len(joined[0]) + len(joined[1])
                if size > _MAX_STRING:
                    return Opaque("<string too long>")
                folded[-1] = joined[0] + joined[1]
                built += size
            else:
                folded[-1] = _add_numbers(left, right)
        elif not (part == "" and folded and isinstance(folded[-1], str)):
            folded.append(part)
    if built > _CHARS_PER_STEP:
        current_budget().charge(built // _CHARS_PER_STEP)
    if len(folded) == 1:
        return folded[0]
    return Concat(tuple(folded))


def _add_numbers(left: JsValue, right: JsValue) -> JsValue:
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left + right
    return Opaque(f"{left!r} + {right!r}")


def is_primitive(value: JsValue) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
