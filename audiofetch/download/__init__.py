"""The download engine: many tracks in parallel into a Sink, with retries, resume, caps and progress.

Imports: ``audiofetch.net`` (all HTTP), ``formats``, ``naming``, ``models``, ``config``, ``errors``.
The one progress interface is ``on_event(ProgressEvent)``; the server fans it out to WebSocket/SSE.
"""

from __future__ import annotations

from ._pool import MAX_WORKERS, DownloadReport, TrackResult, download_all
from ._probe import Probe, probe_tracks
from ._progress import BYTE_EVENTS_PER_SECOND, JobProgress, OnEvent, ProgressEvent, TrackProgress, TrackState
from ._sinks import DirectorySink, HeadFn, PartFile, SavedFile, Sink
from ._spool import SpoolSink, ZipDownload
from ._track import WRITE_SIZE, RetryPolicy

__all__ = [
    "BYTE_EVENTS_PER_SECOND",
    "MAX_WORKERS",
    "WRITE_SIZE",
    "DirectorySink",
    "HeadFn",
    "DownloadReport",
    "JobProgress",
    "OnEvent",
    "PartFile",
    "Probe",
    "ProgressEvent",
    "RetryPolicy",
    "SavedFile",
    "Sink",
    "SpoolSink",
    "TrackProgress",
    "TrackResult",
    "TrackState",
    "ZipDownload",
    "download_all",
    "probe_tracks",
]
