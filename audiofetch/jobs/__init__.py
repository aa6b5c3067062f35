"""Jobs: the job model, its SQLite store and the event broker the live endpoints adapt.

Allowed imports: detect, download, tags, extractors, net, zipstream, config, models, errors (and the stdlib;
only ``_store`` imports ``sqlite3``). Other packages import from here, never from the private modules.
"""

from __future__ import annotations

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
    SnapshotFn,
    Subscription,
    format_sse,
    format_sse_comment,
)
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
from audiofetch.jobs._folders import (
    DownloadFolder,
    delete_download,
    folder_entries,
    list_downloads,
    resolve_folder,
)
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
    normalise_url,
)
from audiofetch.jobs._runner import JobRunner
from audiofetch.jobs._store import MIGRATIONS, JobStore, Migration

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
    "normalise_url",
]
