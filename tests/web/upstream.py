"""The API and runner tests' view of the kit's site: an album page and its tracks, gated on demand.

Tracks live under ``/audio/NAME`` and are known by name (``tracks``, ``gates``); a gated track stops
half-way until the test sets its gate. ``seen`` lists ``(path, Range header)`` in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, MutableMapping

from tests.kit.site import ID3, MediaSite, album_page, payload, sha256

__all__ = ["ID3", "Upstream", "payload", "sha256"]


class Upstream(MediaSite):
    """Pages by path, tracks by file name; ``gates`` (by file name) hold a track's body until set."""

    def album(self, path: str, names_and_sizes: list[tuple[str, int]], title: str = "Harbour Songs") -> None:
        listed = []
        for seed, (name, size) in enumerate(names_and_sizes, start=1):
            self.file(f"/audio/{name}", payload(seed, size), content_type="audio/mpeg")
            listed.append((name[:-4], f"/audio/{name}"))
        self.pages[path] = album_page(title, listed)

    @property
    def tracks(self) -> MutableMapping[str, bytes]:
        """The files under ``/audio/`` by name: a live view (a test may remove a track and put it back)."""
        return _Tracks(self.files)

    @property
    def seen(self) -> list[tuple[str, str | None]]:
        return [(seen.path, seen.range) for seen in self.requests]

    def requests_for(self, name: str) -> list[str | None]:
        """The Range header of each request for track ``name``."""
        return [seen.range for seen in self.requests_at(f"/audio/{name}")]

    def _gate(self, key: str) -> asyncio.Event | None:
        return self.gates.get(key.removeprefix("/audio/"))


class _Tracks(MutableMapping[str, bytes]):
    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = files

    def __getitem__(self, name: str) -> bytes:
        return self._files[f"/audio/{name}"]

    def __setitem__(self, name: str, data: bytes) -> None:
        self._files[f"/audio/{name}"] = data

    def __delitem__(self, name: str) -> None:
        del self._files[f"/audio/{name}"]

    def __iter__(self) -> Iterator[str]:
        return (path[len("/audio/") :] for path in list(self._files) if path.startswith("/audio/"))

    def __len__(self) -> int:
        return sum(1 for _ in self)
