"""Jobs: the job model, its stores (SQLite; PostgreSQL for several nodes) and the event broker the live
endpoints adapt.

Allowed imports: detect, download, tags, extractors, net, zipstream, config, models, errors (and the stdlib;
only ``_store`` and its ``_sqlite_*`` modules import ``sqlite3``; only the ``_pg*`` modules and ``_leases``
import ``asyncpg``). Other packages import from here, never from the private modules.

The pipeline (``_pipeline``: analyse, probe, download, tag) is run by ``JobRunner`` and ``audiofetch get``.
Every name loads on first use (``__getattr__``), so ``get``, which needs only the pipeline, imports
neither SQLite nor the runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audiofetch.jobs._engine import BrowserStream
    from audiofetch.jobs._events import (
        EVENT_TYPES,
        JOB_COMPLETED,
        JOB_CREATED,
        JOB_DELETED,
        JOB_SNAPSHOT,
        JOB_STATUS,
        TRACK_PROGRESS,
        Broker,
        Event,
        RelayFn,
        SnapshotFn,
        Subscription,
    )
    from audiofetch.jobs._finish import PageTags
    from audiofetch.jobs._folders import (
        DownloadFolder,
        delete_download,
        folder_entries,
        list_downloads,
    )
    from audiofetch.jobs._leases import node_name
    from audiofetch.jobs._lock import DataFolderLock
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
    from audiofetch.jobs._pipeline import (
        FolderDownload,
        Run,
        analyse_page,
        download_stem,
        free_path,
        probe_page,
        zip_download,
    )
    from audiofetch.jobs._runner import JobRunner
    from audiofetch.jobs._store import MIGRATIONS, JobStore, Migration
    from audiofetch.jobs._store_api import SQLITE_FILE, JobStoreAPI

_LAZY = {  # each name and the module it loads from
    name: module
    for module, names in {
        "_finish": "PageTags",
        "_events": (
            "JOB_COMPLETED JOB_CREATED JOB_DELETED JOB_SNAPSHOT JOB_STATUS TRACK_PROGRESS Broker "
            "Event EVENT_TYPES RelayFn SnapshotFn Subscription"
        ),
        "_lock": "DataFolderLock",
        "_engine": "BrowserStream",
        "_folders": "DownloadFolder delete_download folder_entries list_downloads",
        "_model": (
            "ACTIVE_STATUSES JOB_STATUSES TRACK_STATUSES Job JobMode JobSpec JobStatus JobTrack "
            "TrackStatus is_active new_job_id normalize_url"
        ),
        "_pipeline": "FolderDownload Run analyse_page download_stem free_path probe_page zip_download",
        "_leases": "node_name",
        "_pgcounters": "Budget PgCounters ThrottleState",
        "_pgevents": "PgEventBus",
        "_pgstore": "PgJobStore safe_url",
        "_runner": "JobRunner",
        "_store_api": "JobStoreAPI SQLITE_FILE",
        "_store": "MIGRATIONS JobStore Migration",
    }.items()
    for name in names.split()
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
    "BrowserStream",
    "DownloadFolder",
    "PageTags",
    "DataFolderLock",
    "JobRunner",
    "FolderDownload",
    "Run",
    "analyse_page",
    "download_stem",
    "free_path",
    "probe_page",
    "zip_download",
    "delete_download",
    "folder_entries",
    "list_downloads",
    "ACTIVE_STATUSES",
    "Broker",
    "Event",
    "EVENT_TYPES",
    "JOB_COMPLETED",
    "JOB_CREATED",
    "JOB_DELETED",
    "JOB_SNAPSHOT",
    "JOB_STATUS",
    "JOB_STATUSES",
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
    "is_active",
    "new_job_id",
    "normalize_url",
]
