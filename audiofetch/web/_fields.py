"""Request fields that read a value and describe themselves: one statement drives checks and the document.

A ``Field`` turns a raw JSON or form value into a Python value, or raises ``BadRequestError`` carrying
its name (so a form shows the message next to it), and gives its JSON Schema for the OpenAPI document.
A ``Model`` is a named set of fields: a request body, or the query parameters of a route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audiofetch.errors import BadRequestError

__all__ = ["Choice", "Field", "Formats", "Model", "Strings", "Switch", "Text", "Whole"]

Schema = dict[str, Any]
_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_FALSE_WORDS = frozenset({"0", "false", "off", "no"})


def _absent(value: object) -> bool:
    return value is None or value == ""


@dataclass(frozen=True, kw_only=True)
class Field:
    """One named input; ``doc`` goes to the document, ``query_doc`` when it differs in a query string."""

    name: str
    doc: str = ""
    required: bool = False
    query_doc: str = ""

    def read(self, value: object) -> Any:
        """The checked value (``None`` when absent and optional); ``BadRequestError`` naming the field."""
        raise NotImplementedError

    def problem(self, message: str) -> BadRequestError:
        """An error about this field."""
        return BadRequestError(message, field=self.name)

    def schema(self) -> Schema:
        """The JSON Schema of the value in a JSON body."""
        raise NotImplementedError

    def query_schema(self) -> Schema:
        """The JSON Schema of the value in a query string (where everything arrives as text)."""
        return self.schema()

    def _described(self, schema: Schema, doc: str | None = None) -> Schema:
        text = self.doc if doc is None else doc
        return {**schema, "description": text} if text else schema


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    """Text, stripped unless ``strip`` is off, at most ``max_chars`` (absent or blank: None).

    ``message``, when given, is the one answer to every problem with the field (it says what is wanted).
    """

    max_chars: int | None = None
    strip: bool = True
    blank_is_missing: bool = True
    format: str | None = None
    default: str | None = None
    message: str = ""

    def read(self, value: object) -> str | None:
        if _absent(value) or (self.blank_is_missing and isinstance(value, str) and not value.strip()):
            if self.required:
                raise self.problem(self.message or f"{self.name} is required")
            return None
        if not isinstance(value, str):
            raise self.problem(self.message or f"{self.name} must be a string")
        text = value.strip() if self.strip else value
        if self.max_chars is not None and len(text) > self.max_chars:
            raise self.problem(self.message or f"{self.name} is longer than {self.max_chars} characters")
        return text

    def schema(self) -> Schema:
        schema: Schema = {"type": "string"}
        if self.format:
            schema["format"] = self.format
        if self.max_chars is not None:
            schema["maxLength"] = self.max_chars
        if self.required:
            schema["minLength"] = 1
        if self.default is not None:
            schema["default"] = self.default
        return self._described(schema)

    def query_schema(self) -> Schema:
        return self._described(self.schema(), self.query_doc or self.doc)


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    """One of ``values``; ``fold`` accepts any case and spaces around (absent: ``default``)."""

    values: tuple[str, ...]
    default: str | None = None
    fold: bool = False

    def read(self, value: object) -> str | None:
        if _absent(value):
            return self.default
        if isinstance(value, str):
            word = value.strip().lower() if self.fold else value
            if word in self.values:
                return word
        quoted = [f"'{choice}'" for choice in self.values]
        raise self.problem(f"{self.name} must be {', '.join(quoted[:-1])} or {quoted[-1]}")

    def schema(self) -> Schema:
        schema: Schema = {"type": "string", "enum": list(self.values)}
        if self.default is not None:
            schema["default"] = self.default
        return self._described(schema)

    def query_schema(self) -> Schema:
        return self._described(self.schema(), self.query_doc or self.doc)


@dataclass(frozen=True, kw_only=True)
class Whole(Field):
    """A whole number from ``low`` to ``high``: a JSON integer or ASCII digits (absent: ``default``)."""

    low: int
    high: int
    default: int | None = None

    def read(self, value: object) -> int | None:
        if _absent(value):
            return self.default
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise self.problem(f"{self.name} must be a whole number from {self.low} to {self.high}")
        return value

    def schema(self) -> Schema:
        return self._described({"type": "integer", "minimum": self.low, "maximum": self.high})

    def query_schema(self) -> Schema:
        return self._described(self.schema(), self.query_doc or self.doc)


@dataclass(frozen=True, kw_only=True)
class Switch(Field):
    """A JSON boolean, or a form word: on/true/1/yes or off/false/0/no (absent or empty: ``default``)."""

    default: bool

    def read(self, value: object) -> bool:
        if _absent(value):
            return self.default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise self.problem(f"{self.name} must be true or false")

    def schema(self) -> Schema:
        return self._described({"type": "boolean", "default": self.default})

    def query_schema(self) -> Schema:
        return {"type": "string", "description": self.query_doc or self.doc}


@dataclass(frozen=True, kw_only=True)
class Formats(Field):
    """Format names, best first: a JSON list or comma-separated text (absent: none)."""

    most: int = 10
    longest: int = 10

    def read(self, value: object) -> tuple[str, ...]:
        if _absent(value):
            return ()
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
        return self._described({"type": "array", "maxItems": self.most, "items": item})

    def query_schema(self) -> Schema:
        return {"type": "string", "description": self.query_doc or self.doc}


@dataclass(frozen=True, kw_only=True)
class Strings(Field):
    """A JSON list of at most ``most`` strings of at most ``longest`` characters (absent: none)."""

    most: int
    longest: int

    def read(self, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > self.most:
            raise self.problem(f"{self.name} must be a list of at most {self.most} addresses")
        if not all(isinstance(item, str) and len(item) <= self.longest for item in value):
            raise self.problem(f"{self.name} must hold addresses of at most {self.longest} characters")
        return tuple(value)

    def schema(self) -> Schema:
        item = {"type": "string", "maxLength": self.longest}
        return self._described({"type": "array", "maxItems": self.most, "items": item})


@dataclass(frozen=True)
class Model:
    """A named set of fields: a request body (``schema``) or a route's query (``parameters``)."""

    name: str
    fields: tuple[Field, ...]
    extra: Mapping[str, Schema] = field(default_factory=dict)  # described only: read elsewhere

    def read(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Every field's checked value, in declaration order (the first bad one raises)."""
        return {item.name: item.read(body.get(item.name)) for item in self.fields}

    def pick(self, *names: str, name: str | None = None) -> Model:
        """A model of some of these fields (a route that takes part of a body as its query)."""
        chosen = tuple(item for item in self.fields if item.name in names)
        return Model(name or self.name, chosen)

    def schema(self) -> Schema:
        """The JSON Schema of a body holding these fields."""
        properties = {item.name: item.schema() for item in self.fields}
        properties.update(self.extra)
        required = [item.name for item in self.fields if item.required]
        return {"type": "object", **({"required": required} if required else {}), "properties": properties}

    def parameters(self) -> list[Schema]:
        """The fields as OpenAPI query parameters."""
        return [
            {
                "name": item.name,
                "in": "query",
                "required": item.required,
                "description": item.query_doc or item.doc,
                "schema": {k: v for k, v in item.query_schema().items() if k != "description"},
            }
            for item in self.fields
        ]
