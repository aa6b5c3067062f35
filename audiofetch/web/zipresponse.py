"""Send a ZIP archive as an HTTP download while it is being written (zip_stream into a StreamResponse).

The producer knows nothing about HTTP (starlette's StreamingResponse is the model). This module adds
the headers (``application/zip``, RFC 6266 ``Content-Disposition``, ``Content-Length`` when the exact
size is known) and the two duties of a streaming server: when the archive cannot be finished after
the headers went out, the connection is aborted so the client marks the download failed instead of
keeping a short or wrong file; when the client goes away, the producer is stopped at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import AsyncIterable, Iterable
from urllib.parse import quote

from aiohttp import web

from audiofetch.errors import AudioFetchError, ZipError
from audiofetch.naming import sanitize_name
from audiofetch.zipstream import ZipEntry, zip_length, zip_stream

__all__ = ["content_disposition", "send_zip"]

log = logging.getLogger(__name__)

_DISCONNECT_POLL_SECONDS = 0.5
_RFC5987_SAFE = "!#$&+-.^_`|~"  # attr-char besides ALPHA / DIGIT (RFC 5987 section 3.2.1)


def content_disposition(filename: str) -> str:
    """``attachment; filename="ascii.zip"; filename*=UTF-8''...`` for any name (RFC 6266 + 5987)."""
    name = sanitize_name(filename, fallback="download.zip")
    if not name.lower().endswith(".zip"):
        name += ".zip"
    stem = name[: -len(".zip")]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = " ".join(ascii_stem.replace("%", "_").split()).strip(" .-") or "download"
    ascii_name = f"{ascii_stem}.zip"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_RFC5987_SAFE)}"


async def send_zip(
    request: web.Request,
    entries: Iterable[ZipEntry] | AsyncIterable[ZipEntry],
    *,
    filename: str,
    status: int = 200,
) -> web.StreamResponse:
    """Stream ``zip_stream(entries)`` to the client as ``filename`` and return the finished response.

    ``Content-Length`` is sent when :func:`zip_length` knows the size (a list with every size known).
    A failure after the headers went out (a size that differs from the announced one, a source
    failing in a promised archive) is logged and the connection aborted; it is not raised, since
    no other response can be sent any more. A client disconnect closes the producer and its sources.
    """
    length = zip_length(entries)
    response = web.StreamResponse(
        status=status,
        headers={"Content-Type": "application/zip", "Content-Disposition": content_disposition(filename)},
    )
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    if request.method == "HEAD":
        await response.write_eof()
        return response
    await response.write(b"")  # send the headers now: the browser shows the download at once

    task = asyncio.current_task()
    assert task is not None
    gone = asyncio.Event()
    watcher = asyncio.create_task(_cancel_on_disconnect(request, task, gone))
    try:
        await _pump(response, entries, length)
    except asyncio.CancelledError:
        if not gone.is_set():
            raise
        task.uncancel()
        log.info("client went away; ZIP stream %r stopped", filename)
    except ConnectionError:
        log.info("client went away; ZIP stream %r stopped", filename)
    except AudioFetchError as exc:
        log.warning("ZIP stream %r aborted: %s", filename, exc.user_message)
        _abort(request)
    except Exception:
        log.exception("ZIP stream %r aborted by an unexpected error", filename)
        _abort(request)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    return response


async def _pump(
    response: web.StreamResponse,
    entries: Iterable[ZipEntry] | AsyncIterable[ZipEntry],
    length: int | None,
) -> None:
    """Copy the archive into the response; closing the generator on any exit stops the producer."""
    sent = 0
    async with contextlib.aclosing(zip_stream(entries)) as chunks:
        async for chunk in chunks:
            await response.write(chunk)
            sent += len(chunk)
    if length is not None and sent != length:
        raise ZipError(f"the archive came to {sent} bytes, not the {length} announced")
    await response.write_eof()


async def _cancel_on_disconnect(
    request: web.Request, task: asyncio.Task[object], gone: asyncio.Event
) -> None:
    """Cancel the streaming task as soon as the connection is lost, even while the producer is idle."""
    while request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(_DISCONNECT_POLL_SECONDS)
    gone.set()
    task.cancel()


def _abort(request: web.Request) -> None:
    """Drop the connection without finishing the body, so the client sees a failed download."""
    transport = request.transport
    if transport is not None:
        transport.abort()
