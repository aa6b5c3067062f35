"""download_all against a real local server: parallelism, resume, retries, caps, HTML, cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from audiofetch.download import (
    DirectorySink,
    DownloadReport,
    JobProgress,
    ProgressEvent,
    SavedFile,
    TrackProgress,
    download_all,
)
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.download.media_server import FAST_RETRIES, OGG, MediaServer, payload, settings, sha256

KIB = 1024


async def run(
    tracks: list[Track],
    folder: Path,
    *,
    workers: int = 5,
    events: list[ProgressEvent] | None = None,
    **caps: int,
) -> DownloadReport:
    config = settings(**caps)
    async with open_fetcher(config) as fetcher:
        return await download_all(
            fetcher,
            tracks,
            DirectorySink(folder),
            workers=workers,
            settings=config,
            referer="http://127.0.0.1/page.html",
            on_event=None if events is None else events.append,
            retry_policy=FAST_RETRIES,
        )


def most_at_once(events: list[ProgressEvent]) -> int:
    """Largest number of tracks between their start and their end, seen from the progress events."""
    running: set[int] = set()
    most = 0
    for event in events:
        if isinstance(event, TrackProgress):
            if event.status == "downloading":
                running.add(event.index)
            else:
                running.discard(event.index)
            most = max(most, len(running))
    return most


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.part"))


async def test_twenty_four_tracks_in_parallel_arrive_byte_identical(
    media: MediaServer, tmp_path: Path
) -> None:
    sources = {n: payload(n, 150 * KIB + n * 37 * KIB) for n in range(1, 25)}
    tracks = [Track(media.add(f"t{n}.mp3", data), title=f"Song {n}", index=n) for n, data in sources.items()]
    events: list[ProgressEvent] = []
    report = await run(tracks, tmp_path, workers=5, events=events)

    assert report.status == "completed" and not report.failed
    for result, (n, data) in zip(report.results, sources.items(), strict=True):
        assert result.filename == f"{n:02d} - Song {n}.mp3"
        assert sha256((tmp_path / result.filename).read_bytes()) == sha256(data)
    assert leftovers(tmp_path) == []
    assert all(s.status == 200 and s.range is None for s in media.seen)
    assert most_at_once(events) <= 5
    finished = [e for e in events if isinstance(e, TrackProgress) and e.status == "done"]
    assert sorted(e.index for e in finished) == list(range(1, 25))
    last = events[-1]
    assert isinstance(last, JobProgress) and last.finished
    assert (last.tracks_done, last.tracks_failed, last.bytes_done) == (24, 0, sum(map(len, sources.values())))


async def test_a_transfer_cut_half_way_resumes_with_range(media: MediaServer, tmp_path: Path) -> None:
    data = payload(7, 900 * KIB)
    track = Track(media.add("cut.mp3", data, behaviour="drop"), title="Cut", index=1)
    report = await run([track], tmp_path)

    assert report.results[0].status == "done"
    assert (tmp_path / "01 - Cut.mp3").read_bytes() == data
    first, second = media.requests_for("cut.mp3")
    assert (first.range, first.status) == (None, 200)
    assert second.status == 206
    assert second.range is not None and second.range.startswith("bytes=")
    resumed_at = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(data) // 2


async def test_a_server_without_range_support_restarts_from_zero(media: MediaServer, tmp_path: Path) -> None:
    data = payload(8, 900 * KIB)
    track = Track(media.add("norange.mp3", data, behaviour="drop-norange"), title="Whole", index=1)
    report = await run([track], tmp_path)

    assert report.results[0].status == "done"
    assert (tmp_path / "01 - Whole.mp3").read_bytes() == data
    first, second = media.requests_for("norange.mp3")
    assert first.status == 200 and first.range is None
    assert second.range is not None and second.status == 200


async def test_5xx_and_429_are_retried_and_retry_after_is_honoured(
    media: MediaServer, tmp_path: Path
) -> None:
    flaky, limited = payload(1, 64 * KIB), payload(2, 64 * KIB)
    tracks = [
        Track(media.add("flaky.mp3", flaky, behaviour="503-once"), title="Flaky", index=1),
        Track(media.add("limited.mp3", limited, behaviour="429-once"), title="Limited", index=2),
    ]
    report = await run(tracks, tmp_path)

    assert [r.status for r in report.results] == ["done", "done"]
    assert (tmp_path / "01 - Flaky.mp3").read_bytes() == flaky
    assert (tmp_path / "02 - Limited.mp3").read_bytes() == limited
    assert [s.status for s in media.requests_for("flaky.mp3")] == [503, 200]
    refused, accepted = media.requests_for("limited.mp3")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 1.0  # Retry-After: 1, against a backoff of at most 0.05 s


async def test_a_missing_track_is_reported_while_the_rest_complete(
    media: MediaServer, tmp_path: Path
) -> None:
    good = payload(3, 100 * KIB)
    tracks = [
        Track(media.add("a.mp3", good), title="A", index=1),
        Track(f"{media.base}/gone.mp3", title="Gone", index=2),
        Track(media.add("c.mp3", good), title="C", index=3),
    ]
    report = await run(tracks, tmp_path)

    assert report.status == "completed"
    assert [r.status for r in report.results] == ["done", "failed", "done"]
    (failure,) = report.failed
    assert "404 Not Found" in failure.line() and "track 2 failed" in failure.line()
    assert len(media.requests_for("gone.mp3")) == 1  # a 404 is final, not retried
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01 - A.mp3", "03 - C.mp3"]


async def test_the_job_fails_only_when_nothing_arrives(media: MediaServer, tmp_path: Path) -> None:
    tracks = [Track(f"{media.base}/missing{n}.mp3", index=n) for n in (1, 2)]
    report = await run(tracks, tmp_path)
    assert report.status == "failed" and len(report.failed) == 2


async def test_oversize_files_are_refused_with_no_part_left(media: MediaServer, tmp_path: Path) -> None:
    tracks = [
        Track(media.add("big.mp3", payload(4, 300 * KIB)), title="Announced", index=1),
        Track(
            media.add("chunked.mp3", payload(5, 300 * KIB), behaviour="nolength"), title="Chunked", index=2
        ),
        Track(media.add("small.mp3", payload(6, 50 * KIB)), title="Small", index=3),
    ]
    report = await run(tracks, tmp_path, max_file_bytes=200 * KIB)

    assert [r.status for r in report.results] == ["failed", "failed", "done"]
    assert "over the 0.2 MiB limit" in (report.results[0].error or "")
    assert "larger than" in (report.results[1].error or "")
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["03 - Small.mp3"]


async def test_the_job_size_cap_refuses_what_would_not_fit(media: MediaServer, tmp_path: Path) -> None:
    tracks = [Track(media.add(f"j{n}.mp3", payload(n, 400 * KIB)), title=f"J{n}", index=n) for n in (1, 2, 3)]
    report = await run(tracks, tmp_path, workers=1, max_job_bytes=1024 * KIB)

    assert [r.status for r in report.results] == ["done", "done", "failed"]
    assert "size limit" in (report.results[2].error or "")
    assert leftovers(tmp_path) == []


async def test_a_web_page_instead_of_audio_is_not_saved(media: MediaServer, tmp_path: Path) -> None:
    track = Track(media.add("login.mp3", b"", behaviour="html"), title="Login", index=1)
    report = await run([track], tmp_path)

    assert report.results[0].error == "the server sent a web page instead of audio"
    assert list(tmp_path.iterdir()) == []


async def test_the_extension_comes_from_the_bytes_not_the_url(media: MediaServer, tmp_path: Path) -> None:
    data = payload(9, 80 * KIB, magic=OGG)
    url = media.add("get.php?id=9", data, content_type="application/octet-stream")
    report = await run([Track(url, title="Stream", index=1)], tmp_path)

    assert report.results[0].filename == "01 - Stream.ogg"
    assert (tmp_path / "01 - Stream.ogg").read_bytes() == data


async def test_a_restarted_job_skips_finished_tracks_and_resumes_partial_ones(
    media: MediaServer, tmp_path: Path
) -> None:
    first, second = payload(10, 200 * KIB), payload(11, 300 * KIB)
    tracks = [
        Track(media.add("one.mp3", first), title="One", index=1),
        Track(media.add("two.mp3", second), title="Two", index=2),
    ]
    (tmp_path / "01 - One.mp3").write_bytes(first)
    (tmp_path / "02 - Two.part").write_bytes(second[: 120 * KIB])
    sink = DirectorySink(tmp_path)
    await sink.prepare(tracks)
    assert sink.completed(0) == SavedFile("01 - One.mp3", len(first))
    assert (sink.completed(1), sink.partial_size(1)) == (None, 120 * KIB)
    report = await run(tracks, tmp_path)

    assert [r.status for r in report.results] == ["skipped", "done"]
    assert media.requests_for("one.mp3") == []
    (resumed,) = media.requests_for("two.mp3")
    assert resumed.range == f"bytes={120 * KIB}-"
    assert (tmp_path / "02 - Two.mp3").read_bytes() == second
    assert leftovers(tmp_path) == []


async def test_cancelling_the_job_stops_the_workers_and_removes_part_files(
    media: MediaServer, tmp_path: Path
) -> None:
    tracks = [
        Track(media.add(f"s{n}.mp3", payload(n, 2048 * KIB), behaviour="slow"), index=n) for n in range(1, 5)
    ]
    moving: set[int] = set()
    all_moving = asyncio.Event()

    def watch(event: ProgressEvent) -> None:
        if isinstance(event, TrackProgress) and event.bytes_done > 0:
            moving.add(event.index)
            if len(moving) == 3:
                all_moving.set()

    config = settings()
    async with open_fetcher(config) as fetcher:
        job = asyncio.create_task(
            download_all(fetcher, tracks, DirectorySink(tmp_path), workers=3, settings=config, on_event=watch)
        )
        await asyncio.wait_for(all_moving.wait(), timeout=30)
        assert len(list(tmp_path.glob("*.part"))) == 3
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    assert list(tmp_path.iterdir()) == []


async def test_the_page_is_sent_as_referer_and_media_is_not_compressed(
    media: MediaServer, tmp_path: Path
) -> None:
    track = Track(media.add("r.mp3", payload(12, 10 * KIB)), index=1)
    report = await run([track], tmp_path)
    assert report.results[0].filename == "01 - Track 01.mp3"
    (request,) = media.seen
    assert (request.referer, request.accept_encoding) == ("http://127.0.0.1/page.html", "identity")


async def test_no_more_transfers_run_at_once_than_workers(media: MediaServer, tmp_path: Path) -> None:
    tracks = [
        Track(media.add(f"w{n}.mp3", payload(n, 300 * KIB), behaviour="paced"), index=n) for n in range(1, 13)
    ]
    events: list[ProgressEvent] = []
    report = await run(tracks, tmp_path, workers=3, events=events)
    assert len(report.succeeded) == 12
    assert most_at_once(events) == 3


async def test_a_stalled_transfer_times_out_and_resumes(media: MediaServer, tmp_path: Path) -> None:
    data = payload(13, 600 * KIB)
    track = Track(media.add("stall.mp3", data, behaviour="stall-once"), title="Stall", index=1)
    config = settings(read_timeout=0.2)
    async with open_fetcher(config) as fetcher:
        report = await download_all(
            fetcher, [track], DirectorySink(tmp_path), workers=1, settings=config, retry_policy=FAST_RETRIES
        )
    assert report.results[0].status == "done"
    assert (tmp_path / "01 - Stall.mp3").read_bytes() == data
    first, second = media.requests_for("stall.mp3")
    assert first.range is None and second.status == 206


async def test_the_per_file_deadline_fails_the_track_and_removes_its_part(
    media: MediaServer, tmp_path: Path
) -> None:
    slow = Track(media.add("slow.mp3", payload(14, 1024 * KIB), behaviour="slow"), title="Slow", index=1)
    config = settings(file_deadline=0.3)
    async with open_fetcher(config) as fetcher:
        report = await download_all(fetcher, [slow], DirectorySink(tmp_path), workers=1, settings=config)
    assert report.results[0].status == "failed"
    assert "per-file limit of 0.3 s" in (report.results[0].error or "")
    assert list(tmp_path.iterdir()) == []


async def test_an_empty_track_list_is_a_completed_empty_job(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    report = await run([], tmp_path, events=events)
    assert report.results == () and report.status == "completed"
    assert isinstance(events[-1], JobProgress) and events[-1].finished
