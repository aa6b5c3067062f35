"""A lenient reader for the JavaScript object and array literals that players keep their tracks in.

Pages configure players in JavaScript that is not JSON: unquoted keys, single quotes and template
literals, trailing commas, comments, ``\\/`` escapes, hex numbers, ``undefined``, and URLs built by
concatenation (``mediaPath + tracks[i].file + extension``). ``parse_literal`` reads one such value
without running anything; what it cannot evaluate stays data (``_jsvalue``) for extractors to finish.
``Reader`` serves ``_jsscan``'s searches over whole scripts; ``_jscursor`` skips what cannot be read
and keeps the step budget. Nesting is capped at ``MAX_DEPTH`` and nothing recurses without that cap,
so crafted input gives ``ValueError``, never a hang; a spent page budget raises ``OutOfWork``.
"""

from __future__ import annotations

import re

from audiofetch.extractors._jscursor import CLOSERS, CONTINUE, EOF, MAX_DEPTH, PLAIN_RUNS, Cursor, LimitError
from audiofetch.extractors._jsvalue import Call, Choice, Concat, JsValue, Opaque, Ref, choice, fold, js_str

# The value model is re-exported: the player extractors read values through this module.
__all__ = [
    "MAX_DEPTH",
    "Call",
    "Choice",
    "Concat",
    "JsValue",
    "Opaque",
    "Reader",
    "Ref",
    "fold",
    "parse_literal",
]

_IDENT = re.compile(r"[A-Za-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?"
)
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


class Reader(Cursor):
    """Recursive descent over one text (the cursor's ``skip`` passes over what it cannot read)."""

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
        except LimitError:
            raise
        except ValueError:
            pass
        end, question, colon = self.skip(start)
        if end == start:
            raise self.fail(start, "expected a value")
        if question is not None and colon is not None:
            try:
                return self.ternary(question, colon, end, depth), self.space(end)
            except LimitError:
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
        plain = PLAIN_RUNS[quote]
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
            return js_str(_number(number.group())), number.end()
        ident = _IDENT.match(self.text, pos)
        if ident is None:
            raise self.fail(pos, "expected a key")
        return ident.group(), ident.end()


def _number(token: str) -> int | float:
    token = token.replace("_", "").rstrip("n")
    lowered = token.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        return int(lowered[2:] or "0", {"x": 16, "o": 8, "b": 2}[lowered[1]])
    if re.fullmatch(r"\d+", token):
        return int(token)
    value = float(token)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _join_surrogates(text: str) -> str:
    """Pair ``\\uD83D\\uDE00`` halves into one character; replace lone halves (they cannot be encoded)."""
    if not re.search("[\ud800-\udfff]", text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


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
