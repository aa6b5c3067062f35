"""Moving over JavaScript source without evaluating it: whitespace, comments, strings, regexes, brackets.

The base of the literal reader (``_jsliteral``) and of the script searches (``_jsscan``): a position
in one text, a step budget, and ``skip``, which finds where an expression ends (before a top-level
``,;)]}`` or a statement-ending newline) so anything the reader cannot evaluate is passed over whole.

Cost is bounded: every scan is linear and nothing recurses, so crafted input gives ``ValueError``
or an empty result, never a hang. All work is also charged to the page's ``WorkBudget``
(``_budget``): past it, or once detection cancels it, ``OutOfWork`` is raised, which no lenient
fallback swallows; past the reader's own budget or ``MAX_DEPTH``, ``LimitError`` (a ``ValueError``
the reader's fallbacks re-raise).
"""

from __future__ import annotations

import re

from audiofetch.extractors._budget import current_budget

__all__ = [
    "CLOSERS",
    "CONTINUE",
    "EOF",
    "MAX_DEPTH",
    "PLAIN_RUNS",
    "REGEX_BEFORE",
    "Cursor",
    "LimitError",
    "skip_regex",
]

MAX_DEPTH = 64
# Work allowed per character of input (each character is visited a few times by overlapping searches).
_BUDGET_PER_CHAR = 12
_BUDGET_BASE = 10_000
_FLUSH_EVERY = 4096  # reader steps between two charges to the page's budget (and cancellation checks)

_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?(?:\*/|\Z)|<!--|-->)+", re.S)
EOF = "\0"
# Characters a string literal holds as they are (not its quote, a backslash or a line break).
PLAIN_RUNS = {quote: re.compile(f"[^{quote}\\\\\n]+") for quote in "\"'`"}
# What ``skip`` passes over without looking: no quote, slash, bracket, separator or line break.
_SKIP_RUN = re.compile(r"[^\"'`/()\[\]{},;?:\n]+")
CLOSERS = frozenset(",;)]}:")
# After a newline, these continue the expression; anything else starts a new statement.
CONTINUE = frozenset(".+-*/%&|^?=<>")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
REGEX_BEFORE = frozenset("(,=:[!&|?{};+-*%<>~^")


class LimitError(ValueError):
    """Nesting or work past the reader's limits: never rescued by a lenient fallback."""


class Cursor:
    """One text and its step budget; ``furthest`` records how far any attempt got (for skipping)."""

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
            raise LimitError("work budget exhausted")

    def fail(self, pos: int, why: str) -> ValueError:
        self.furthest = max(self.furthest, pos)
        return ValueError(f"{why} at offset {pos}")

    def too_deep(self, pos: int) -> ValueError:
        self.furthest = max(self.furthest, pos)
        return LimitError(f"nesting deeper than {MAX_DEPTH} at offset {pos}")

    def space(self, pos: int) -> int:
        match = _SPACE.match(self.text, pos)
        return match.end() if match else pos

    def peek(self, pos: int) -> str:
        """The character at ``pos``, or ``EOF`` (never ``""``, which ``in "..."`` would accept)."""
        return self.text[pos] if pos < len(self.text) else EOF

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
        plain = PLAIN_RUNS[quote] if quote != "`" else None
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
