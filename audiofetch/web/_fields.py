"""Request fields that read a value and describe themselves: one statement drives checks and the document.

A ``Field`` turns a raw JSON or form value into a Python value, or raises ``BadRequestError`` carrying
its name (so a form shows the message next to it), and gives its JSON Schema for the OpenAPI document.
A ``Model`` is a named set of fields: a request body, or the query parameters of a route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audiofetch.errors import BadRequestError

__all__ = ["Choice", "Field", "Formats", "Model", "Strings", "Switch", "Text", "Whole"]

Schema = dict[str, Any]
_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_FALSE_WORDS = frozenset({"0", "false", "off", "no"})


@dataclass(frozen=True, kw_only=True)
class Field:
    """One named input; ``doc`` describes it in the document. Absent (None or empty): ``default``, or
    "NAME is required"."""

    name: str
    doc: str = ""
    required: bool = False
    default: Any = None

    def read(self, value: object) -> Any:
        """The checked value; ``BadRequestError`` naming the field."""
        if self.absent(value):
            if self.required:
                raise self.problem(self.missing())
            return self.default
        return self.check(value)

    def absent(self, value: object) -> bool:
        return value is None or value == ""

    def missing(self) -> str:
        return f"{self.name} is required"

    def check(self, value: object) -> Any:
        """The value, present, checked."""
        raise NotImplementedError

    def problem(self, message: str) -> BadRequestError:
        """An error about this field."""
        return BadRequestError(message, field=self.name)

    def schema(self) -> Schema:
        """The JSON Schema of the value."""
        raise NotImplementedError

    def _schema(self, kind: str, **keywords: Any) -> Schema:
        """A JSON Schema of type ``kind`` with the ``keywords`` that are not None, and the ``doc``."""
        schema = {"type": kind, **{key: value for key, value in keywords.items() if value is not None}}
        return {**schema, "description": self.doc} if self.doc else schema


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    """Text of at most ``max_chars``, stripped unless ``raw`` (blank counts as absent, unless ``raw`` and
    optional). ``message``, when given, answers every problem with the field."""

    max_chars: int | None = None
    raw: bool = False
    format: str | None = None
    message: str = ""

    def absent(self, value: object) -> bool:
        blank = isinstance(value, str) and not value.strip() and (self.required or not self.raw)
        return blank or super().absent(value)

    def missing(self) -> str:
        return self.message or super().missing()

    def check(self, value: object) -> str:
        if not isinstance(value, str):
            raise self.problem(self.message or f"{self.name} must be a string")
        text = value if self.raw else value.strip()
        if self.max_chars is not None and len(text) > self.max_chars:
            raise self.problem(self.message or f"{self.name} is longer than {self.max_chars} characters")
        return text

    def schema(self) -> Schema:
        minimum = 1 if self.required else None
        return self._schema(
            "string", format=self.format, maxLength=self.max_chars, minLength=minimum, default=self.default
        )


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    """One of ``values``; ``fold`` accepts any case and spaces around."""

    values: tuple[str, ...]
    fold: bool = False

    def check(self, value: object) -> str:
        word = value.strip().lower() if isinstance(value, str) and self.fold else value
        if isinstance(word, str) and word in self.values:
            return word
        quoted = [f"'{choice}'" for choice in self.values]
        raise self.problem(f"{self.name} must be {', '.join(quoted[:-1])} or {quoted[-1]}")

    def schema(self) -> Schema:
        return self._schema("string", enum=list(self.values), default=self.default)


@dataclass(frozen=True, kw_only=True)
class Whole(Field):
    """A whole number from ``low`` to ``high``: a JSON integer or ASCII digits."""

    low: int
    high: int

    def check(self, value: object) -> int:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise self.problem(f"{self.name} must be a whole number from {self.low} to {self.high}")
        return value

    def schema(self) -> Schema:
        return self._schema("integer", minimum=self.low, maximum=self.high)


@dataclass(frozen=True, kw_only=True)
class Switch(Field):
    """A JSON boolean, or a form word: on/true/1/yes or off/false/0/no."""

    def check(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise self.problem(f"{self.name} must be true or false")

    def schema(self) -> Schema:
        return self._schema("boolean", default=self.default)


@dataclass(frozen=True, kw_only=True)
class Formats(Field):
    """Format names, best first: a JSON list or comma-separated text (absent: none)."""

    default: Any = ()
    most: int = 10
    longest: int = 10

    def check(self, value: object) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise self.problem(f'{self.name} must be a list of formats such as ["flac", "mp3"]')
        formats = tuple(item.strip().lower() for item in items if item.strip())
        if len(formats) > self.most or any(
            len(item) > self.longest or not item.isalnum() for item in formats
        ):
            raise self.problem(f"{self.name} must list at most {self.most} format names such as flac or mp3")
        return formats

    def schema(self) -> Schema:
        item = {"type": "string", "pattern": f"^[A-Za-z0-9]{{1,{self.longest}}}$"}
        return self._schema("array", maxItems=self.most, items=item)


@dataclass(frozen=True, kw_only=True)
class Strings(Field):
    """A JSON list of at most ``most`` addresses of at most ``longest`` characters (absent: none)."""

    default: Any = ()
    most: int
    longest: int

    def absent(self, value: object) -> bool:
        return value is None

    def check(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or len(value) > self.most:
            raise self.problem(f"{self.name} must be a list of at most {self.most} addresses")
        if not all(isinstance(item, str) and len(item) <= self.longest for item in value):
            raise self.problem(f"{self.name} must hold addresses of at most {self.longest} characters")
        return tuple(value)

    def schema(self) -> Schema:
        return self._schema("array", maxItems=self.most, items={"type": "string", "maxLength": self.longest})


@dataclass(frozen=True)
class Model:
    """A named set of fields: a request body (``schema``) or a route's query (``parameters``)."""

    name: str
    fields: tuple[Field, ...]

    def read(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Every field's checked value, in declaration order (the first bad one raises)."""
        return {item.name: item.read(body.get(item.name)) for item in self.fields}

    def pick(self, *names: str) -> Model:
        """A model of some of these fields (a route that takes part of a body as its query)."""
        return Model(self.name, tuple(item for item in self.fields if item.name in names))

    def schema(self) -> Schema:
        """The JSON Schema of a body holding these fields."""
        properties = {item.name: item.schema() for item in self.fields}
        required = [item.name for item in self.fields if item.required]
        return {"type": "object", **({"required": required} if required else {}), "properties": properties}

    def parameters(self) -> list[Schema]:
        """The fields as OpenAPI query parameters."""
        return [
            {
                "name": item.name,
                "in": "query",
                "required": item.required,
                "description": item.doc,
                "schema": {key: value for key, value in item.schema().items() if key != "description"},
            }
            for item in self.fields
        ]
