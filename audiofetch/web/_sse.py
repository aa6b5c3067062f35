"""The Server-Sent Events wire format: how ``GET /api/events`` puts a job event and a heartbeat on the wire.

It follows aiohttp-sse's rules (CRLF line ends, one ``data:`` line per line of data). A job event is
encoded once, by its first subscriber (``Event.wire``), and the same bytes go to every other one.
"""

from __future__ import annotations

import re

from audiofetch.jobs import Event

__all__ = ["format_sse", "format_sse_comment", "sse_bytes"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SEP = "\r\n"


def format_sse(
    data: str, *, event: str | None = None, id: str | int | None = None, retry: int | None = None
) -> bytes:
    """One Server-Sent Event on the wire, UTF-8.

    Line breaks are removed from ``id`` and ``event``; each line of ``data`` becomes its own ``data:``
    line; lines end with CRLF and a blank line ends the event.
    """
    lines: list[str] = []
    if id is not None:
        lines.append(_LINE_BREAK.sub("", f"id: {id}"))
    if event is not None:
        lines.append(_LINE_BREAK.sub("", f"event: {event}"))
    lines.extend(f"data: {chunk}" for chunk in _LINE_BREAK.split(data))
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    return (_SEP.join(lines) + _SEP + _SEP).encode("utf-8")


def format_sse_comment(text: str = "ping") -> bytes:
    """An SSE comment line (clients ignore it): the heartbeat that keeps proxies from closing the stream."""
    return f": {_LINE_BREAK.sub(' ', text)}{_SEP}{_SEP}".encode()


def _encode(event: Event) -> bytes:
    return format_sse(event.json_text(), event=event.type, id=event.id)


def sse_bytes(event: Event) -> bytes:
    """The event as SSE bytes: ``id:`` and ``event:`` lines, then its JSON as ``data:`` (encoded once)."""
    return event.wire(_encode)
