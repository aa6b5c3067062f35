"""A lenient reader for the JavaScript object and array literals that players keep their tracks in.

Pages configure players in JavaScript that is not JSON: unquoted keys, single quotes and template
literals, trailing commas, comments, ``\\/`` escapes, hex numbers, ``undefined``, and URLs built by
concatenation (``mediaPath + tracks[i].file + extension``). This module reads such values without
running anything. What it cannot evaluate it keeps as data, so extractors can finish the job:

- ``Ref(path)``: a name or member path (``data.file``, ``tracks[*].file``; ``[*]`` is a computed index);
- ``Concat(parts)``: a ``+`` chain that still holds a ``Ref`` or a ``Choice``;
- ``Choice(options)``: the branches of a ternary (``canPlayType(..) ? '.mp3' : '.ogg'``);
- ``Opaque(text)``: any other expression (functions, calls), skipped as a whole.

Public API (private to ``audiofetch.extractors``):

- ``parse_literal(text, start=0) -> (value, end)``: one expression; raises ``ValueError``.
- ``Reader``: the reader itself, for ``_jsscan``'s searches over whole scripts.
- ``fold(parts) -> value``: evaluate a ``+`` chain as far as its parts allow.

Searching whole scripts (calls, assignments, concatenations) is ``_jsscan``'s job; resolving references
against a page's variables is ``_jsresolve``'s.

Cost is bounded: every scan is linear (a regex match that starts inside text an earlier parse of the
same search already consumed is skipped), nesting is capped at ``MAX_DEPTH`` and nothing recurses
without that cap, so crafted input gives ``ValueError`` or an empty result, never a hang. All work is
also charged to the page's ``WorkBudget`` (``_budget``): past it, or once detection cancels it, any
function here raises ``OutOfWork``, which no lenient fallback swallows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from audiofetch.extractors._budget import current_budget

__all__ = [
    "CLOSERS",
    "CONTINUE",
    "EOF",
    "MAX_DEPTH",
    "Call",
    "Choice",
    "Concat",
    "JsValue",
    "Opaque",
    "REGEX_BEFORE",
    "Reader",
    "Ref",
    "choice",
    "choice_options",
    "fold",
    "is_primitive",
    "parse_literal",
    "skip_regex",
]

MAX_DEPTH = 64
_MAX_CHOICES = 8
# Work allowed per character of input (each character is visited a few times by overlapping searches).
_BUDGET_PER_CHAR = 12
_BUDGET_BASE = 10_000
_FLUSH_EVERY = 4096  # reader steps between two charges to the page's budget (and cancellation checks)
_MAX_STRING = 1 << 20  # a concatenation longer than this is not built (doubling chains would be 2**n)


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


_IDENT = re.compile(r"[A-Za-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?"
)
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?(?:\*/|\Z)|<!--|-->)+", re.S)
_DIGITS = re.compile(r"\d+")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}
_KEYWORDS = {"true": True, "false": False, "null": None, "undefined": None}
_NUMERIC_WORDS = {"Infinity": float("inf"), "NaN": float("nan")}
EOF = "\0"
# Characters a string literal holds as they are (not its quote, a backslash or a line break).
_PLAIN_RUNS = {quote: re.compile(f"[^{quote}\\\\\n]+") for quote in "\"'`"}
# What ``skip`` passes over without looking: no quote, slash, bracket, separator or line break.
_SKIP_RUN = re.compile(r"[^\"'`/()\[\]{},;?:\n]+")
CLOSERS = frozenset(",;)]}:")
# After a newline, these continue the expression; anything else starts a new statement.
CONTINUE = frozenset(".+-*/%&|^?=<>")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
REGEX_BEFORE = frozenset("(,=:[!&|?{};+-*%<>~^")


class _LimitError(ValueError):
    """Nesting or work past the reader's limits: never rescued by a lenient fallback."""


class Reader:
    """Recursive descent over one text; ``furthest`` records how far any attempt got (for skipping)."""

    def __init__(self, text: str, budget: int | None = None) -> None:
        self.text = text
        self.furthest = 0
        self.budget = _BUDGET_PER_CHAR * len(text) + _BUDGET_BASE if budget is None else budget
        self.work = current_budget()
        self.flushed = self.budget  # ``budget`` when the page's budget was last charged
        self.flush_at = max(self.budget - _FLUSH_EVERY, 0)

    def charge(self, steps: int) -> None:
        """Count work; past the budget every parse fails, so no input costs more than linear time.

        Every ``_FLUSH_EVERY`` steps the work is also charged to the page's budget, which raises
        ``OutOfWork`` when the page has spent its steps or its caller cancelled it.
        """
        self.budget -= steps
        if self.budget < self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Charge the steps since the last flush to the page's budget (may raise ``OutOfWork``)."""
        self.work.charge(self.flushed - self.budget)
        self.flushed = self.budget
        self.flush_at = max(self.budget - _FLUSH_EVERY, 0)
        if self.budget < 0:
            raise _LimitError("work budget exhausted")

    def fail(self, pos: int, why: str) -> ValueError:
        self.furthest = max(self.furthest, pos)
        return ValueError(f"{why} at offset {pos}")

    def too_deep(self, pos: int) -> ValueError:
        self.furthest = max(self.furthest, pos)
        return _LimitError(f"nesting deeper than {MAX_DEPTH} at offset {pos}")

    def space(self, pos: int) -> int:
        match = _SPACE.match(self.text, pos)
        return match.end() if match else pos

    def peek(self, pos: int) -> str:
        """The character at ``pos``, or ``EOF`` (never ``""``, which ``in "..."`` would accept)."""
        return self.text[pos] if pos < len(self.text) else EOF

    # Expressions ------------------------------------------------------------------------------------

    def expression(self, pos: int, depth: int) -> tuple[JsValue, int]:
        """A value: literal, ref, ``+`` chain or ternary; anything else becomes ``Opaque`` as a whole.

        Returns the offset after the value and any whitespace or comments that follow it.
        """
        if depth > MAX_DEPTH:
            raise self.too_deep(pos)
        self.charge(1)
        start = self.space(pos)
        try:
            value, end = self.chain(start, depth)
            after = self.space(end)
            nxt = self.peek(after)
            if nxt in CLOSERS or nxt == EOF or ("\n" in self.text[end:after] and nxt not in CONTINUE):
                return value, after
        except _LimitError:
            raise
        except ValueError:
            pass
        end, question, colon = self.skip(start)
        if end == start:
            raise self.fail(start, "expected a value")
        if question is not None and colon is not None:
            try:
                return self.ternary(question, colon, end, depth), self.space(end)
            except _LimitError:
                raise
            except ValueError:
                pass
        return Opaque(self.text[start:end].strip()), self.space(end)

    def ternary(self, question: int, colon: int, end: int, depth: int) -> Choice:
        consequent, after = self.expression(question + 1, depth + 1)
        if self.space(after) != colon:
            raise self.fail(after, "unexpected text in a ternary")
        alternate, after = self.expression(colon + 1, depth + 1)
        if self.space(after) != self.space(end):
            raise self.fail(after, "unexpected text in a ternary")
        return choice([consequent, alternate])

    def chain(self, pos: int, depth: int) -> tuple[JsValue, int]:
        parts = []
        value, pos = self.primary(pos, depth)
        parts.append(value)
        while True:
            after = self.space(pos)
            if self.peek(after) != "+" or self.peek(after + 1) in "+=":
                break
            value, pos = self.primary(self.space(after + 1), depth)
            parts.append(value)
        return (fold(parts) if len(parts) > 1 else parts[0]), pos

    def primary(self, pos: int, depth: int) -> tuple[JsValue, int]:
        char = self.peek(pos)
        if char in "\"'":
            return self.string(pos)
        if char == "`":
            return self.template(pos, depth)
        if char == "{":
            return self.object(pos, depth + 1)
        if char == "[":
            return self.array(pos, depth + 1)
        if char == "(":
            value, end = self.expression(pos + 1, depth + 1)
            if self.peek(end) != ")":
                raise self.fail(end, "expected ')'")
            return value, end + 1
        if char in "-+" and (self.peek(pos + 1).isdigit() or self.peek(pos + 1) in ".IN"):
            value, end = self.primary(self.space(pos + 1), depth)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise self.fail(pos, "expected a number")
            return (-value if char == "-" else value), end
        number = _NUMBER.match(self.text, pos)
        if number and number.group():
            return _number(number.group()), number.end()
        ident = _IDENT.match(self.text, pos)
        if ident is None:
            raise self.fail(pos, "expected a value")
        word = ident.group()
        if word in _KEYWORDS:
            return _KEYWORDS[word], ident.end()
        if word in _NUMERIC_WORDS:
            return _NUMERIC_WORDS[word], ident.end()
        return self.member_path(word, ident.end())

    def member_path(self, root: str, pos: int) -> tuple[Ref, int]:
        path: list[str | int | None] = [root]
        while True:
            after = self.space(pos)
            char = self.peek(after)
            if char == "." or (char == "?" and self.peek(after + 1) == "."):
                ident = _IDENT.match(self.text, self.space(after + (2 if char == "?" else 1)))
                if ident is None:
                    break
                path.append(ident.group())
                pos = ident.end()
            elif char == "[":
                inner = self.space(after + 1)
                key: str | int | None = None
                if self.peek(inner) in "\"'":
                    key, end = self.string(inner)
                elif (number := _DIGITS.match(self.text, inner)) is not None:
                    key, end = int(number.group()), number.end()
                elif (ident := _IDENT.match(self.text, inner)) is not None:
                    end = ident.end()
                else:
                    raise self.fail(inner, "unsupported index")
                end = self.space(end)
                if self.peek(end) != "]":
                    raise self.fail(end, "unsupported index")
                path.append(key)
                pos = end + 1
            else:
                break
        return Ref(tuple(path)), pos

    # Literals --------------------------------------------------------------------------------------

    def string(self, pos: int) -> tuple[str, int]:
        quote = self.text[pos]
        out: list[str] = []
        i = pos + 1
        text = self.text
        plain = _PLAIN_RUNS[quote]
        while i < len(text):
            run = plain.match(text, i)
            if run is not None and run.end() > i:  # a run of ordinary characters in one step
                self.charge(run.end() - i)
                out.append(run.group())
                i = run.end()
                continue
            self.charge(1)
            char = text[i]
            if char == quote:
                return _join_surrogates("".join(out)), i + 1
            if char == "\\":
                decoded, i = self.escape(i)
                out.append(decoded)
                continue
            if char == "\n" and quote != "`":
                raise self.fail(i, "unterminated string")
            out.append(char)
            i += 1
        raise self.fail(i, "unterminated string")

    def escape(self, pos: int) -> tuple[str, int]:
        """Decode the escape at ``pos`` (a backslash); returns the text and the offset after it."""
        text = self.text
        kind = text[pos + 1] if pos + 1 < len(text) else ""
        if kind == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[pos + 2 : pos + 4]):
            return chr(int(text[pos + 2 : pos + 4], 16)), pos + 4
        if kind == "u":
            if text[pos + 2 : pos + 3] == "{":
                close = text.find("}", pos + 3, pos + 12)
                digits = text[pos + 3 : close] if close > 0 else ""
                if re.fullmatch(r"[0-9a-fA-F]{1,6}", digits) and int(digits, 16) <= 0x10FFFF:
                    return chr(int(digits, 16)), close + 1
            elif re.fullmatch(r"[0-9a-fA-F]{4}", text[pos + 2 : pos + 6]):
                return chr(int(text[pos + 2 : pos + 6], 16)), pos + 6
            raise self.fail(pos, "bad unicode escape")
        if kind == "\r":
            return "", pos + (3 if text[pos + 2 : pos + 3] == "\n" else 2)
        if kind in "\n\u2028\u2029":
            return "", pos + 2
        if not kind:
            raise self.fail(pos, "unterminated string")
        if kind == "0" and pos + 2 < len(text) and text[pos + 2].isdigit():
            return "\0", pos + 2
        return _SIMPLE_ESCAPES.get(kind, kind), pos + 2

    def template(self, pos: int, depth: int) -> tuple[JsValue, int]:
        parts: list[JsValue] = []
        chunk: list[str] = []
        i = pos + 1
        text = self.text
        while i < len(text):
            self.charge(1)
            char = text[i]
            if char == "`":
                parts.append(_join_surrogates("".join(chunk)))
                return fold([part for part in parts if part != ""] or [""]), i + 1
            if char == "\\":
                decoded, i = self.escape(i)
                chunk.append(decoded)
            elif char == "$" and text[i + 1 : i + 2] == "{":
                parts.append(_join_surrogates("".join(chunk)))
                chunk = []
                value, end = self.expression(i + 2, depth + 1)
                if self.peek(end) != "}":
                    raise self.fail(end, "expected '}' in a template")
                parts.append(value)
                i = end + 1
            else:
                chunk.append(char)
                i += 1
        raise self.fail(i, "unterminated template")

    def array(self, pos: int, depth: int) -> tuple[list[JsValue], int]:
        if depth > MAX_DEPTH:
            raise self.too_deep(pos)
        items: list[JsValue] = []
        pos = self.space(pos + 1)
        while self.peek(pos) != "]":
            if self.peek(pos) == ",":  # hole
                items.append(None)
                pos = self.space(pos + 1)
                continue
            if self.text.startswith("...", pos):
                _, pos = self.expression(pos + 3, depth)
            else:
                value, pos = self.expression(pos, depth)
                items.append(value)
            pos = self.space(pos)
            if self.peek(pos) == ",":
                pos = self.space(pos + 1)
            elif self.peek(pos) != "]":
                raise self.fail(pos, "expected ',' or ']'")
        return items, pos + 1

    def object(self, pos: int, depth: int) -> tuple[dict[str, JsValue], int]:
        if depth > MAX_DEPTH:
            raise self.too_deep(pos)
        result: dict[str, JsValue] = {}
        pos = self.space(pos + 1)
        while self.peek(pos) != "}":
            key, pos = self.key(pos, depth)
            pos = self.space(pos)
            char = self.peek(pos)
            if char == ":":
                value, pos = self.expression(pos + 1, depth)
                if key is not None:
                    result[key] = value
            elif char in ",}" and key is not None:  # shorthand {title, file}
                result[key] = Ref((key,))
            else:  # a method, getter or computed key: skip the whole member
                pos, _, _ = self.skip(pos)
            pos = self.space(pos)
            if self.peek(pos) == ",":
                pos = self.space(pos + 1)
            elif self.peek(pos) != "}":
                raise self.fail(pos, "expected ',' or '}'")
        return result, pos + 1

    def key(self, pos: int, depth: int) -> tuple[str | None, int]:
        char = self.peek(pos)
        if char in "\"'":
            return self.string(pos)
        if char == "[":
            end, _, _ = self.skip(pos)
            return None, end
        if self.text.startswith("...", pos):
            _, end = self.expression(pos + 3, depth)
            return None, end
        number = _NUMBER.match(self.text, pos)
        if number and number.group():
            return _js_str(_number(number.group())), number.end()
        ident = _IDENT.match(self.text, pos)
        if ident is None:
            raise self.fail(pos, "expected a key")
        return ident.group(), ident.end()

    # Skipping --------------------------------------------------------------------------------------

    def skip(self, pos: int) -> tuple[int, int | None, int | None]:
        """End of the expression starting at ``pos`` (before a top-level ``,;)]}``), iteratively.

        Also returns the offsets of the first top-level ``?`` and of its ``:`` (for ternaries).
        """
        text = self.text
        stack: list[str] = []
        question: int | None = None
        colon: int | None = None
        pending = 0  # open top-level ``?`` still waiting for their ``:``
        last = "("
        i = pos
        while i < len(text):
            run = _SKIP_RUN.match(text, i)
            if run is not None:  # ordinary code up to the next bracket, separator or quote, in one step
                self.charge(run.end() - i)
                stripped = run.group().rstrip()
                last = stripped[-1] if stripped else last
                i = run.end()
                continue
            self.charge(1)
            char = text[i]
            if char in "\"'`":
                i = self.skip_string(i)
                last = "a"
                continue
            if char == "/" and text[i + 1 : i + 2] in ("/", "*"):
                i = self.space(i)
                continue
            if char == "/" and last in REGEX_BEFORE:
                i = skip_regex(text, i)
                last = "a"
                continue
            if char in _OPENERS:
                stack.append(_OPENERS[char])
            elif char in ")]}":
                if not stack:
                    break
                if stack.pop() != char:
                    raise self.fail(i, "mismatched brackets")
            elif stack:
                pass
            elif char in ",;":
                break
            elif char == "?" and text[i + 1 : i + 2] not in (".", "?"):
                pending += 1
                question = i if question is None else question
            elif char == ":":
                if not pending:
                    break
                pending -= 1
                colon = i if colon is None and not pending else colon
            elif char == "\n" and _statement_ends(text, i, last):
                break
            if not char.isspace():
                last = char
            i += 1
        if stack:
            raise self.fail(i, "unbalanced brackets")
        while i > pos and text[i - 1].isspace():
            i -= 1
        return i, question, colon

    def skip_string(self, pos: int) -> int:
        quote = self.text[pos]
        i = pos + 1
        text = self.text
        depth = 0
        plain = _PLAIN_RUNS[quote] if quote != "`" else None
        while i < len(text):
            if plain is not None and (run := plain.match(text, i)) is not None:
                self.charge(run.end() - i)  # a run of ordinary characters in one step
                i = run.end()
                continue
            self.charge(1)
            char = text[i]
            if char == "\\":
                i += 2
                continue
            if quote == "`" and char == "$" and text[i + 1 : i + 2] == "{":
                depth += 1
                i += 2
                continue
            if quote == "`" and depth and char == "}":
                depth -= 1
            elif char == quote and not depth:
                return i + 1
            elif char == "\n" and quote != "`":
                break
            i += 1
        raise self.fail(i, "unterminated string")


def _statement_ends(text: str, newline: int, last: str) -> bool:
    """At a top-level newline, does the statement end (automatic semicolon insertion, roughly)?"""
    if last in "=+-*/%&|^!~?:,.([{<>":
        return False
    following = _SPACE.match(text, newline)
    after = following.end() if following else newline + 1
    return text[after : after + 1] not in CONTINUE | {",", ")", "]", "}", ":"}


def skip_regex(text: str, pos: int) -> int:
    """The offset after the regex literal at ``pos`` (a slash), or ``pos + 1`` for a division sign."""
    i = pos + 1
    in_class = False
    while i < len(text) and text[i] != "\n":
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            flags = re.compile(r"[a-z]*").match(text, i + 1)
            return flags.end() if flags else i + 1
        i += 1
    return pos + 1  # not a regex after all: a division sign


def _number(token: str) -> int | float:
    token = token.replace("_", "").rstrip("n")
    lowered = token.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        return int(lowered[2:] or "0", {"x": 16, "o": 8, "b": 2}[lowered[1]])
    if re.fullmatch(r"\d+", token):
        return int(token)
    value = float(token)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _js_str(value: object) -> str:
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


def _join_surrogates(text: str) -> str:
    """Pair ``\\uD83D\\uDE00`` halves into one character; replace lone halves (they cannot be encoded)."""
    if not re.search("[\ud800-\udfff]", text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


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
                joined = _js_str(left), _js_str(right)
                size = len(joined[0]) + len(joined[1])
                if size > _MAX_STRING:
                    return Opaque("<string too long>")
                folded[-1] = joined[0] + joined[1]
                built += size
            else:
                folded[-1] = _add_numbers(left, right)
        elif not (part == "" and folded and isinstance(folded[-1], str)):
            folded.append(part)
    if built > _FLUSH_EVERY:
        current_budget().charge(built // _FLUSH_EVERY)
    if len(folded) == 1:
        return folded[0]
    return Concat(tuple(folded))


def _add_numbers(left: JsValue, right: JsValue) -> JsValue:
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left + right
    return Opaque(f"{left!r} + {right!r}")


def is_primitive(value: JsValue) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def parse_literal(text: str, start: int = 0) -> tuple[JsValue, int]:
    """Read one JavaScript expression at ``start``; returns its value and the offset after it.

    Raises ``ValueError`` when no value starts there or it is malformed or too deep (and ``OutOfWork``
    when the page's budget is spent).
    """
    reader = Reader(text)
    try:
        return reader.expression(start, 0)
    except RecursionError as exc:  # only reachable with a tiny interpreter stack; MAX_DEPTH guards it
        raise ValueError("nesting too deep") from exc
