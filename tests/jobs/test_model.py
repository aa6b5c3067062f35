"""Job data: validation, computed totals, the JSON shape the API sends, URL keys for duplicates."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from audiofetch.jobs import Job, JobSpec, JobStatus, JobTrack, is_active, new_job_id, normalize_url
from audiofetch.models import Track


def make_job(*tracks: JobTrack, status: JobStatus = "downloading") -> Job:
    job = Job.new(JobSpec("https://example.com/album", mode="server", client_id="10.0.0.1"), 1000.0)
    return dataclasses.replace(job, status=status, tracks=tracks)


def test_job_ids_are_url_safe_and_unguessable() -> None:
    ids = {new_job_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", job_id) for job_id in ids)


def test_spec_refuses_an_unknown_mode_and_zero_workers() -> None:
    with pytest.raises(ValueError, match="mode"):
        JobSpec("https://example.com/", mode="torrent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers"):
        JobSpec("https://example.com/", workers=0)


def test_active_statuses_are_the_unfinished_ones() -> None:
    assert [s for s in ("queued", "analyzing", "ready", "downloading") if is_active(s)] == [
        "queued",
        "analyzing",
        "ready",
        "downloading",
    ]
    assert not any(is_active(s) for s in ("completed", "failed", "cancelled"))
    assert make_job(status="ready").active
    assert not make_job(status="cancelled").active


def test_totals_come_from_the_tracks() -> None:
    job = make_job(
        JobTrack(1, "https://e/1.mp3", status="done", bytes_done=100, size=100),
        JobTrack(2, "https://e/2.mp3", status="downloading", bytes_done=30, size=200),
        JobTrack(3, "https://e/3.mp3", status="failed", bytes_done=5, size=50),
        JobTrack(4, "https://e/4.mp3", status="skipped"),
    )
    assert (job.bytes_done, job.bytes_total, job.tracks_done, job.tracks_failed) == (135, 350, 1, 1)
    unknown = dataclasses.replace(job, tracks=(*job.tracks, JobTrack(5, "https://e/5.mp3")))
    assert unknown.bytes_total is None
    assert make_job().bytes_total is None
    assert job.track(2) is job.tracks[1]
    assert job.track(9) is None


def test_to_json_has_stable_keys_and_leaves_the_client_out() -> None:
    job = make_job(JobTrack(1, "https://e/1.mp3", title="Intro\nPart 1", size=10))
    body = job.to_json()
    assert list(body) == [
        "id",
        "url",
        "name",
        "mode",
        "plugin",
        "workers",
        "prefer",
        "selected",
        "tags",
        "render",
        "status",
        "active",
        "error",
        "looked_for",
        "title",
        "player",
        "created_at",
        "updated_at",
        "totals",
        "tracks",
    ]
    assert list(body["totals"]) == ["tracks", "tracks_done", "tracks_failed", "bytes_done", "bytes_total"]
    assert list(body["tracks"][0]) == [
        "index",
        "url",
        "title",
        "status",
        "bytes_done",
        "size",
        "file_name",
        "error",
    ]
    assert "10.0.0.1" not in json.dumps(body)
    assert json.loads(json.dumps(body)) == body
    assert job.to_json(duplicate=True)["duplicate"] is True
    assert "duplicate" not in body


def test_job_track_from_a_detected_track() -> None:
    track = Track("https://e/2.ogg", title="Two", index=2)
    assert JobTrack.from_track(track) == JobTrack(2, "https://e/2.ogg", title="Two")


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("HTTPS://Example.COM/Album?x=1#t=3", "https://example.com/Album?x=1"),
        ("https://example.com:443", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("  https://[::1]:8443/a  ", "https://[::1]:8443/a"),
        ("not a url", "not%20a%20url"),
        ("https://example.com/a%2Cb?_=3", "https://example.com/a,b"),
    ],
)
def test_normalize_url_makes_equal_pages_compare_equal(given: str, key: str) -> None:
    assert normalize_url(given) == key
