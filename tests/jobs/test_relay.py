"""ProgressRelay: engine events reach the store and the broker with the job model's words."""

from __future__ import annotations

from pathlib import Path

from audiofetch.download import TrackProgress
from audiofetch.jobs import Broker, JobSpec, JobStore, JobTrack
from audiofetch.jobs._relay import ProgressRelay


async def test_a_file_already_there_is_recorded_as_done_not_as_unselected(tmp_path: Path) -> None:
    store = await JobStore.open(tmp_path / "jobs.sqlite3")
    try:
        job = await store.create(JobSpec("https://example.org/a.html", mode="server"))
        await store.set_tracks(job.id, [JobTrack(1, "https://example.org/1.mp3"), JobTrack(2, "https://e/2")])
        relay = ProgressRelay(store, Broker(), job.id)
        relay.on_event(TrackProgress(1, "skipped", 1000, 1000, 0.0, filename="01 - One.mp3"))
        relay.on_event(TrackProgress(2, "failed", 0, None, 0.0, error="the server answered 404"))
        await relay.close()
        saved = await store.get(job.id)
        assert [(t.status, t.file_name, t.error) for t in saved.tracks] == [
            ("done", "01 - One.mp3", None),
            ("failed", None, "the server answered 404"),
        ]
    finally:
        await store.close()
