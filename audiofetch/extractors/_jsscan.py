"""Searches over whole scripts with the literal reader: calls, values after a pattern, assignments,
``+`` chains. Every script is scanned once (comments and string contents masked) and the result shared
by every extractor of the page; all work is charged to the page's budget like the reader's.

- ``code_and_mask(script) -> (code, mask)`` / ``code_only(script)``: comments blanked (same offsets).
- ``find_calls(script, callee) -> list[Call]``: argument values of every call whose callee matches
  the regex ``callee`` (``r"new\\s+Howl"``, ``r"\\.jPlayer"``), in script order.
- ``find_values(script, pattern) -> list[value]``: the expression after each match (``\\.source\\s*=``).
- ``find_assignments(script) -> dict[str, value]``: ``var/let/const x = ...`` and ``x = ...``.
- ``concatenations(script) -> list[Concat]``: every ``+`` chain of names and strings in the code.
- ``enclosing_object(mask, pos)``, ``handler_bodies(code, mask)``: where an object literal around an
  offset starts, and the bodies of click (key, submit) handlers, whose data is not on the page yet.

Each search is linear: a match that starts inside text an earlier parse of the same search already
consumed is skipped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from audiofetch.extractors._jscursor import CLOSERS, CONTINUE, EOF, REGEX_BEFORE, skip_regex
from audiofetch.extractors._jsliteral import Reader
from audiofetch.extractors._jsvalue import Call, Choice, Concat, JsValue, Opaque

__all__ = [
    "code_and_mask",
    "code_only",
    "concatenations",
    "enclosing_object",
    "find_assignments",
    "find_calls",
    "find_values",
    "handler_bodies",
]

_INTERESTING = re.compile(r"[\"'`/]")


@lru_cache(maxsize=32)  # every extractor of a page asks for the same scripts: each is scanned once
def _scan(script: str) -> tuple[str, str]:
    """(code, mask): comments blanked in both; in ``mask`` string and regex contents are blanked too.

    Both keep every offset, so regexes search ``mask`` (never matching text inside strings) and the
    reader parses ``code`` at the same positions. Charged to the page's budget (one step a character).
    """
    reader = Reader(script, budget=1 << 62)  # a single linear pass
    code: list[str] = []
    mask: list[str] = []
    i = 0
    last = "("
    while i < len(script):
        # Copy the plain code up to the next quote or slash in one piece (C speed, not per character).
        found = _INTERESTING.search(script, i)
        stop = found.start() if found else len(script)
        if stop > i:
            chunk = script[i:stop]
            code.append(chunk)
            mask.append(chunk)
            stripped = chunk.rstrip()
            if stripped:
                last = stripped[-1]
            reader.charge(stop - i)
            i = stop
            continue
        char = script[i]
        end = i + 1
        if char in "\"'`":
            try:
                end = reader.skip_string(i)
            except ValueError:
                end = max(reader.furthest, i + 1)
            last = "a"
        elif script[i + 1 : i + 2] in ("/", "*"):
            close = script.find("\n", i) if script[i + 1] == "/" else script.find("*/", i + 2)
            end = len(script) if close < 0 else close + (0 if script[i + 1] == "/" else 2)
            blank = re.sub(r"[^\n]", " ", script[i:end])
            code.append(blank)
            mask.append(blank)
            reader.charge(end - i)
            i = end
            continue
        elif last in REGEX_BEFORE:
            end = skip_regex(script, i)
            last = "a"
        else:
            last = char
        chunk = script[i:end]
        code.append(chunk)
        if end == i + 1:
            mask.append(chunk)
        elif "\n" in chunk:  # a template literal over several lines: keep the line breaks
            mask.append(chunk[0] + re.sub(r"[^\n]", " ", chunk[1:-1]) + chunk[-1])
        else:
            mask.append(chunk[0] + " " * (len(chunk) - 2) + chunk[-1])
        i = end
    reader.flush()
    return "".join(code), "".join(mask)


def code_and_mask(script: str) -> tuple[str, str]:
    """(code, mask) of ``_scan``: comments blanked; in ``mask`` string contents blanked as well."""
    return _scan(script)


def code_only(script: str) -> str:
    """The script with comments replaced by spaces (newlines kept), so offsets stay the same."""
    return _scan(script)[0]


def find_calls(script: str, callee: str | re.Pattern[str], *, nested: bool = False) -> list[Call]:
    """Every call ``<callee>(args)`` in the script's code, in order; malformed ones are left out.

    ``callee`` is searched outside strings and comments; the call's ``(`` must follow the match.
    Calls inside the arguments of an earlier match are skipped unless ``nested`` (then the work
    budget, not the structure, bounds the cost).
    """
    pattern = re.compile(callee) if isinstance(callee, str) else callee
    code, mask = _scan(script)
    reader = Reader(code)
    calls: list[Call] = []
    for match in pattern.finditer(mask):
        if match.start() < reader.furthest and not nested:
            continue
        if reader.budget <= 0:
            break
        pos = reader.space(match.end())
        if reader.peek(pos) != "(":
            continue
        args: list[JsValue] = []
        pos = reader.space(pos + 1)
        try:
            while reader.peek(pos) != ")":
                value, pos = reader.expression(pos, 1)
                args.append(value)
                if reader.peek(pos) == ",":
                    pos = reader.space(pos + 1)
                elif reader.peek(pos) != ")":
                    raise reader.fail(pos, "expected ',' or ')'")
        except (ValueError, RecursionError):
            continue
        reader.furthest = max(reader.furthest, pos + 1)
        calls.append(Call(tuple(args), match.start(), pos + 1, match.group()))
    return calls


def find_values(script: str, pattern: str | re.Pattern[str]) -> list[JsValue]:
    """The value of the expression right after each match of ``pattern`` (``.source =``)."""
    code, mask = _scan(script)
    reader = Reader(code)
    values: list[JsValue] = []
    for match in re.finditer(pattern, mask):
        if match.start() < reader.furthest:
            continue
        try:
            value, end = reader.expression(match.end(), 1)
        except (ValueError, RecursionError):
            if reader.budget <= 0:
                break
            continue
        reader.furthest = max(reader.furthest, end)
        values.append(value)
    return values


_DECLARATION = re.compile(r"(?<![\w$.])(?:var|let|const)\s+")
_ASSIGNMENT = re.compile(r"(?<![\w$.])([A-Za-z_$][\w$]*)\s*=(?![=>])")
_DECLARED = re.compile(r"([A-Za-z_$][\w$]*)\s*(=(?![=>]))?")
# Values that are never data; an assignment needs no end (unlike a declaration list), so they are not
# skipped over, which would read a whole function body for nothing.
_OPAQUE_START = re.compile(r"(?:function\b|class\b|async\b|new\s)")
_RESERVED = frozenset(("var", "let", "const", "return", "typeof", "new", "in", "of"))


def _assignment_list(script: str) -> list[tuple[str, JsValue]]:
    """(name, value) for every simple assignment in the code, in source order."""
    code, mask = _scan(script)
    reader = Reader(code)
    found: list[tuple[int, str, JsValue]] = []
    try:
        for match in _DECLARATION.finditer(mask):
            pos = match.end()
            while (declared := _DECLARED.match(mask, pos)) and declared.group(1) not in _RESERVED:
                pos = declared.end()
                if declared.group(2):
                    try:
                        value, pos = reader.expression(pos, 1)
                    except ValueError:
                        if reader.budget <= 0:
                            raise
                        break
                    found.append((declared.start(), declared.group(1), value))
                pos = reader.space(pos)
                if reader.peek(pos) != ",":
                    break
                pos = reader.space(pos + 1)
        declared_at = {start for start, _, _ in found}
        for match in _ASSIGNMENT.finditer(mask):
            if match.start() in declared_at or match.group(1) in _RESERVED:
                continue
            opaque = _OPAQUE_START.match(code, reader.space(match.end()))
            if opaque is not None:  # a function, class or object being built: nothing to read in it
                found.append((match.start(), match.group(1), Opaque(opaque.group())))
                continue
            try:
                value, _ = reader.expression(match.end(), 1)
            except ValueError:
                if reader.budget <= 0:
                    raise
                continue
            found.append((match.start(), match.group(1), value))
    except (ValueError, RecursionError):
        pass  # work budget spent: keep what was read
    found.sort(key=lambda item: item[0])
    return [(name, value) for _, name, value in found]


def _is_empty(value: JsValue) -> bool:
    return isinstance(value, Opaque) or value is None or value == "" or value == [] or value == {}


def find_assignments(script: str) -> dict[str, JsValue]:
    """``var/let/const x = v`` and ``x = v`` (also ``var a = 1, b = 2``): one value per name.

    Scripts often declare a variable empty and fill it later (``extension = ''`` then ``extension =
    canPlay ? '.mp3' : '.ogg'``), so the last value that is neither empty nor opaque wins; a name that
    only ever gets empty or opaque values keeps its last one.
    """
    return dict(_assignments(script))


@lru_cache(maxsize=32)  # every extractor of a page reads the same scripts' variables: once each
def _assignments(script: str) -> tuple[tuple[str, JsValue], ...]:
    result: dict[str, JsValue] = {}
    for name, value in _assignment_list(script):
        if name not in result or not _is_empty(value) or _is_empty(result[name]):
            result[name] = value
    return tuple(result.items())


_CHAIN_STARTS = re.compile(r"(?:[=:(\[,?]|\breturn)\s*(?=[A-Za-z_$\"'`])")


def concatenations(script: str) -> list[Concat | Choice]:
    """Every ``+`` chain of names and strings in the code that still holds a reference, in order."""
    code, mask = _scan(script)
    reader = Reader(code)
    found: list[Concat | Choice] = []
    pos = 0
    while (match := _CHAIN_STARTS.search(mask, pos)) is not None:
        pos = match.end()
        try:
            value, end = reader.chain(pos, 1)
        except ValueError:
            if reader.budget <= 0:
                break
            continue
        after = reader.space(end)
        nxt = reader.peek(after)
        complete = nxt in CLOSERS or nxt == EOF or ("\n" in code[end:after] and nxt not in CONTINUE)
        if isinstance(value, Concat | Choice) and complete:
            found.append(value)
            pos = end
    return found


_REACH = 4000  # how far back an enclosing object may start
# A function that runs when the visitor clicks (types, submits): what it adds is not on the page yet.
_HANDLER = re.compile(
    r"""(?:addEventListener\(\s*["'](?:click|dblclick|touch\w*|key\w*|submit|change)["']"""
    r"""|\.(?:on|one|bind)\(\s*["'](?:click|touch\w*|submit|change)"""
    r"""|\.click\(|\bon(?:click|touchstart|submit|change)\s*=)[^{};]*$"""
)
_BRACES = re.compile(r"[{}]")


def handler_bodies(code: str, mask: str) -> list[tuple[int, int]]:
    """(start, end) of the bodies of event handlers in a script, outermost only, in order."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[int, bool]] = []  # (offset of "{", whether it opens a handler's body)
    for match in _BRACES.finditer(mask):
        at = match.start()
        if match.group() == "{":
            inside = any(handler for _, handler in stack)
            stack.append((at, not inside and bool(_HANDLER.search(code, max(0, at - 160), at))))
        elif stack:
            start, handler = stack.pop()
            if handler:
                spans.append((start, at))
    return sorted(spans)


def enclosing_object(mask: str, pos: int) -> int | None:
    """Offset of the ``{`` of the object literal that encloses ``pos``, or None (an array, too far).

    ``mask`` has string contents blanked, so brackets inside strings do not count.
    """
    depth = 0
    for index in range(pos - 1, max(-1, pos - 1 - _REACH), -1):
        char = mask[index]
        if char in "}]":
            depth += 1
        elif char in "{[":
            if depth == 0:
                return index if char == "{" else None
            depth -= 1
    return None
