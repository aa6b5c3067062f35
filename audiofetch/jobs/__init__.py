"""Jobs: the job model, its stores (SQLite; PostgreSQL for several nodes) and the event broker the live
endpoints adapt.

Allowed imports: detect, download, tags, extractors, net, zipstream, config, models, errors (and the stdlib;
only ``_store`` imports ``sqlite3``; only the ``_pg*`` modules and ``_leases`` import ``asyncpg``). Other
packages import from here, never from the private modules.

The model, store, runner, broker and download folders load on first use (``__getattr__``), so
``audiofetch get``, which needs only ``_finish``, does not import SQLite and the runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from audiofetch.jobs._finish import (
    MAX_COVERS,
    MAX_STREAM_TAG_BYTES,
    TAG_THREADS,
    FrontTags,
    PageTags,
    SavedTrack,
    delivered_playlist_entry,
    finish_folder,
    load_covers,
    playlist_entry,
    stream_prefixes,
)

if TYPE_CHECKING:
    from audiofetch.jobs._browser import BrowserStream
    from audiofetch.jobs._events import (
        JOB_COMPLETED,
        JOB_CREATED,
        JOB_DELETED,
        JOB_SNAPSHOT,
        JOB_STATUS,
        JOB_TRACKS,
        TRACK_PROGRESS,
        Broker,
        Event,
        RelayFn,
        SnapshotFn,
        Subscription,
        format_sse,
        format_sse_comment,
    )
    from audiofetch.jobs._folders import (
        DownloadFolder,
        delete_download,
        folder_entries,
        list_downloads,
        resolve_folder,
    )
    from audiofetch.jobs._leases import node_name
    from audiofetch.jobs._lock import LOCK_FILE, DataFolderLock
    from audiofetch.jobs._model import (
        ACTIVE_STATUSES,
        JOB_STATUSES,
        TRACK_STATUSES,
        Job,
        JobMode,
        JobSpec,
        JobStatus,
        JobTrack,
        TrackStatus,
        is_active,
        new_job_id,
        normalize_url,
    )
    from audiofetch.jobs._pgcounters import Budget, PgCounters, ThrottleState
    from audiofetch.jobs._pgevents import PgEventBus
    from audiofetch.jobs._pgstore import PgJobStore, safe_url
    from audiofetch.jobs._runner import JobRunner
    from audiofetch.jobs._store import MIGRATIONS, JobStore, Migration
    from audiofetch.jobs._store_api import SQLITE_FILE, JobStoreAPI

_LAZY = {
    "BrowserStream": "_browser",
    "JOB_COMPLETED": "_events",
    "JOB_CREATED": "_events",
    "JOB_DELETED": "_events",
    "JOB_SNAPSHOT": "_events",
    "JOB_STATUS": "_events",
    "JOB_TRACKS": "_events",
    "TRACK_PROGRESS": "_events",
    "Broker": "_events",
    "RelayFn": "_events",
    "node_name": "_leases",
    "PgEventBus": "_pgevents",
    "Budget": "_pgcounters",
    "PgCounters": "_pgcounters",
    "ThrottleState": "_pgcounters",
    "PgJobStore": "_pgstore",
    "safe_url": "_pgstore",
    "JobStoreAPI": "_store_api",
    "SQLITE_FILE": "_store_api",
    "Event": "_events",
    "SnapshotFn": "_events",
    "Subscription": "_events",
    "format_sse": "_events",
    "format_sse_comment": "_events",
    "DownloadFolder": "_folders",
    "LOCK_FILE": "_lock",
    "DataFolderLock": "_lock",
    "delete_download": "_folders",
    "folder_entries": "_folders",
    "list_downloads": "_folders",
    "resolve_folder": "_folders",
    "ACTIVE_STATUSES": "_model",
    "JOB_STATUSES": "_model",
    "TRACK_STATUSES": "_model",
    "Job": "_model",
    "JobMode": "_model",
    "JobSpec": "_model",
    "JobStatus": "_model",
    "JobTrack": "_model",
    "TrackStatus": "_model",
    "is_active": "_model",
    "new_job_id": "_model",
    "normalize_url": "_model",
    "JobRunner": "_runner",
    "MIGRATIONS": "_store",
    "JobStore": "_store",
    "Migration": "_store",
}


def __getattr__(name: str) -> Any:
    """Load a lazily imported name from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "MAX_COVERS",
    "MAX_STREAM_TAG_BYTES",
    "TAG_THREADS",
    "FrontTags",
    "PageTags",
    "SavedTrack",
    "delivered_playlist_entry",
    "finish_folder",
    "load_covers",
    "playlist_entry",
    "stream_prefixes",
    "BrowserStream",
    "DownloadFolder",
    "LOCK_FILE",
    "DataFolderLock",
    "JobRunner",
    "delete_download",
    "folder_entries",
    "list_downloads",
    "resolve_folder",
    "ACTIVE_STATUSES",
    "Broker",
    "Event",
    "JOB_COMPLETED",
    "JOB_CREATED",
    "JOB_DELETED",
    "JOB_SNAPSHOT",
    "JOB_STATUS",
    "JOB_STATUSES",
    "JOB_TRACKS",
    "Job",
    "JobMode",
    "JobSpec",
    "JobStatus",
    "JobStore",
    "JobStoreAPI",
    "Budget",
    "PgCounters",
    "PgEventBus",
    "PgJobStore",
    "ThrottleState",
    "RelayFn",
    "SQLITE_FILE",
    "node_name",
    "safe_url",
    "JobTrack",
    "MIGRATIONS",
    "Migration",
    "SnapshotFn",
    "Subscription",
    "TRACK_PROGRESS",
    "TRACK_STATUSES",
    "TrackStatus",
    "format_sse",
    "format_sse_comment",
    "is_active",
    "new_job_id",
    "normalize_url",
]
