"""Job data: what was asked (``JobSpec``), what is happening (``Job``) and each track's part (``JobTrack``).

Frozen dataclasses updated with ``dataclasses.replace``; no IO. ``Job.to_json`` is the one shape the API,
the WebSocket and SSE send for a job, so its keys are documented there and kept stable.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from audiofetch.detect import looked_for, normalize_url
from audiofetch.errors import NO_AUDIO_MESSAGE
from audiofetch.models import Track

__all__ = [
    "ACTIVE_STATUSES",
    "JOB_STATUSES",
    "Job",
    "JobMode",
    "JobSpec",
    "JobStatus",
    "JobTrack",
    "TRACK_STATUSES",
    "TrackStatus",
    "is_active",
    "new_job_id",
    "normalize_url",  # detect's key for tracks is also the one for pages (duplicate control)
]

JobMode = Literal["browser", "server"]
JobStatus = Literal["queued", "analyzing", "ready", "downloading", "completed", "failed", "cancelled"]
TrackStatus = Literal["pending", "downloading", "done", "failed", "skipped"]

JOB_MODES: tuple[str, ...] = get_args(JobMode)
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
TRACK_STATUSES: tuple[str, ...] = get_args(TrackStatus)
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "analyzing", "ready", "downloading"})


def is_active(status: str) -> bool:
    """True while a job may still change on its own (queued, analyzing, ready, downloading)."""
    return status in ACTIVE_STATUSES


def new_job_id() -> str:
    """An unguessable URL-safe id (128 random bits); knowing it is what grants access to a job."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a client asked for; never changes after the job is created.

    ``workers`` None means the configured default. ``prefer`` lists formats in order of preference
    (``("flac", "mp3")``). ``client_id`` identifies the requester for per-client limits and is never sent
    back in API responses. ``selected`` holds the 1-based track indexes to fetch, None meaning all.
    ``tags`` False leaves the files as the server sent them (the playlist is still written).
    ``render`` is ``auto``/``always``/``never`` for the render pass, None meaning the server's setting.
    Raises ``ValueError`` on a mode or worker count the HTTP layer should already have refused.
    """

    url: str
    mode: JobMode = "browser"
    name: str | None = None
    plugin: str | None = None
    workers: int | None = None
    prefer: tuple[str, ...] = ()
    client_id: str = ""
    selected: tuple[int, ...] | None = None
    tags: bool = True
    render: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in JOB_MODES:
            raise ValueError(f"mode must be 'browser' or 'server', not {self.mode!r}")
        if self.render not in (None, "auto", "always", "never"):
            raise ValueError(f"render must be 'auto', 'always' or 'never', not {self.render!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")


@dataclass(frozen=True, slots=True)
class JobTrack:
    """One track of a job: where it comes from and how far it got.

    ``index`` is the 1-based position on the page. ``size`` is None until the server announces it.
    ``file_name`` is the name in the folder or ZIP once chosen.
    """

    index: int
    url: str
    title: str | None = None
    status: TrackStatus = "pending"
    bytes_done: int = 0
    size: int | None = None
    file_name: str | None = None
    error: str | None = None

    @classmethod
    def from_track(cls, track: Track) -> JobTrack:
        """A pending job track for a detected ``Track``."""
        return cls(index=track.index, url=track.url, title=track.title)

    def to_json(self) -> dict[str, Any]:
        """Keys: index, url, title, status, bytes_done, size, file_name, error."""
        return {
            "index": self.index,
            "url": self.url,
            "title": self.title,
            "status": self.status,
            "bytes_done": self.bytes_done,
            "size": self.size,
            "file_name": self.file_name,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored: its spec, status, page facts and tracks. Times are UTC epoch seconds.

    Totals are computed from the tracks, so they can never disagree with them.
    """

    id: str
    spec: JobSpec
    created_at: float
    updated_at: float
    status: JobStatus = "queued"
    error: str | None = None
    title: str | None = None
    player: str | None = None
    tracks: tuple[JobTrack, ...] = field(default=())

    @classmethod
    def new(cls, spec: JobSpec, now: float) -> Job:
        """A queued job with a fresh id, created at ``now``."""
        return cls(id=new_job_id(), spec=spec, created_at=now, updated_at=now)

    @property
    def active(self) -> bool:
        """True while the job may still change on its own."""
        return is_active(self.status)

    @property
    def bytes_done(self) -> int:
        """Bytes received over all tracks."""
        return sum(track.bytes_done for track in self.tracks)

    @property
    def bytes_total(self) -> int | None:
        """Sum of the sizes of the tracks to fetch; None while any is unknown or no track is known yet."""
        wanted = [track.size for track in self.tracks if track.status != "skipped"]
        if not wanted or any(size is None for size in wanted):
            return None
        return sum(size for size in wanted if size is not None)

    @property
    def tracks_progress(self) -> float:
        """Tracks fetched so far, a running one counting by its bytes (0.5: half its announced size) and
        one of unknown size as 0 until it ends; failed tracks count as ended. Skipped tracks are left out."""
        total = 0.0
        for track in self.tracks:
            if track.status in ("done", "failed"):
                total += 1
            elif track.status != "skipped" and track.size:
                total += min(track.bytes_done / track.size, 1.0)
        return total

    @property
    def tracks_done(self) -> int:
        """Tracks fully fetched."""
        return sum(1 for track in self.tracks if track.status == "done")

    @property
    def tracks_failed(self) -> int:
        """Tracks given up on."""
        return sum(1 for track in self.tracks if track.status == "failed")

    @property
    def looked_for(self) -> tuple[str, ...] | None:
        """The conventions tried, when the job failed because the page has no audio; else None."""
        if self.error != NO_AUDIO_MESSAGE:
            return None
        return looked_for(self.spec.plugin or "auto")

    def track(self, index: int) -> JobTrack | None:
        """The track with this 1-based index, if the job has it."""
        return next((track for track in self.tracks if track.index == index), None)

    def to_json(self, *, duplicate: bool | None = None) -> dict[str, Any]:
        """The job as the API shows it; a plain dict ready for ``json.dumps``.

        Keys, always present: id, url, name, mode, plugin, workers, prefer (list), selected (list or
        null), tags (bool), render (auto/always/never, or null for the server's setting), status, active
        (bool), error, looked_for (the conventions tried when the error is ``NO_AUDIO_MESSAGE``, else
        null), title, player, created_at, updated_at (epoch seconds), totals {tracks, tracks_done,
        tracks_failed, bytes_done, bytes_total}, tracks (list of ``JobTrack.to_json``). ``duplicate`` is
        added only when given (the create endpoint sets it).
        ``client_id`` is left out on purpose.
        """
        spec = self.spec
        body: dict[str, Any] = {
            "id": self.id,
            "url": spec.url,
            "name": spec.name,
            "mode": spec.mode,
            "plugin": spec.plugin,
            "workers": spec.workers,
            "prefer": list(spec.prefer),
            "selected": None if spec.selected is None else list(spec.selected),
            "tags": spec.tags,
            "render": spec.render,
            "status": self.status,
            "active": self.active,
            "error": self.error,
            "looked_for": None if self.looked_for is None else list(self.looked_for),
            "title": self.title,
            "player": self.player,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "totals": {
                "tracks": len(self.tracks),
                "tracks_done": self.tracks_done,
                "tracks_failed": self.tracks_failed,
                "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total,
            },
            "tracks": [track.to_json() for track in self.tracks],
        }
        if duplicate is not None:
            body["duplicate"] = duplicate
        return body
