"""JobRunner end to end: a real upstream site, a real SQLite store, real downloads and ZIPs."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from audiofetch.detect import looked_for
from audiofetch.errors import BadRequestError, JobActiveError, JobLimitError, NoAudioError, StreamBusyError
from audiofetch.jobs import JobSpec
from audiofetch.zipstream import zip_stream
from tests.kit.runner import Harness, open_harness, read_zip, runner_settings
from tests.kit.wait import job_in
from tests.web.upstream import Upstream, sha256

SIZES = [("one.mp3", 300_000), ("two.mp3", 200_000), ("three.mp3", 250_000)]


@pytest.fixture
async def site(aiohttp_server: Any) -> tuple[Upstream, TestServer]:
    upstream = Upstream()
    upstream.album("/album.html", SIZES)
    upstream.pages["/empty.html"] = "<html><head><title>Nothing</title></head><body>words</body></html>"
    server = await aiohttp_server(upstream.app())
    return upstream, server


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with open_harness(runner_settings(tmp_path)) as item:
        yield item


async def test_server_mode_job_saves_every_track(site: Any, harness: Harness) -> None:
    upstream, server = site
    subscription = harness.broker.subscribe()
    job, duplicate = await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), mode="server"))
    assert not duplicate
    done = await job_in(harness, job.id, "completed", "failed")
    assert done.status == "completed", done.error
    folder = harness.runner.downloads_dir() / "Harbour Songs"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["00 - Harbour Songs.m3u8", "01 - one.mp3", "02 - two.mp3", "03 - three.mp3"]
    for index, (name, _) in enumerate(SIZES, start=1):
        saved = folder / f"{index:02d} - {name}"
        assert sha256(saved.read_bytes()) == sha256(upstream.tracks[name])
    assert [t.status for t in done.tracks] == ["done", "done", "done"]
    types = []
    async with asyncio.timeout(5):
        async for event in subscription:
            types.append(event.type)
            if event.type == "job.completed":
                break
    assert types[0] == "job.created"
    assert "job.status" in types


async def test_browser_mode_streams_an_exact_zip(site: Any, harness: Harness) -> None:
    upstream, server = site
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), mode="browser"))
    ready = await harness.runner.analyse(job.id)
    assert ready.status == "ready"
    assert [t.size for t in ready.tracks] == [size for _, size in SIZES]
    body, stream = await read_zip(harness.runner, job.id)
    assert stream.filename == "Harbour Songs.zip"
    assert stream.length == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        for index, (name, _) in enumerate(SIZES, start=1):
            assert archive.read(f"{index:02d} - {name}") == upstream.tracks[name]
    finished = await harness.store.get(job.id)
    assert finished.status == "completed"
    assert not (harness.settings.data_dir / "spool" / job.id).exists()


async def test_a_second_consumer_is_refused_while_the_first_reads(site: Any, harness: Harness) -> None:
    _, server = site
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html"))))
    await harness.runner.analyse(job.id)
    stream = await harness.runner.open_stream(job.id)
    try:
        with pytest.raises(StreamBusyError):
            await harness.runner.open_stream(job.id)
    finally:
        await stream.close()


async def test_a_stream_closed_early_fails_the_job_and_cleans_up(site: Any, harness: Harness) -> None:
    upstream, server = site
    upstream.gates["two.mp3"] = asyncio.Event()  # hold the second track half-way
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html"))))
    await harness.runner.analyse(job.id)
    stream = await harness.runner.open_stream(job.id)
    chunks = zip_stream(stream.entries)
    await anext(chunks)
    await chunks.aclose()
    await stream.close()
    failed = await harness.store.get(job.id)
    assert failed.status == "failed"
    assert "interrupted" in (failed.error or "")
    assert not (harness.settings.data_dir / "spool" / job.id).exists()


async def test_identical_submissions_give_one_job(site: Any, harness: Harness) -> None:
    _, server = site
    url = str(server.make_url("/album.html"))
    first, dup1 = await harness.runner.submit(JobSpec(url, mode="browser"))
    second, dup2 = await harness.runner.submit(JobSpec(url.replace("127.0.0.1", "127.0.0.1"), mode="browser"))
    assert (dup1, dup2) == (False, True)
    assert second.id == first.id
    assert len(await harness.store.list_jobs()) == 1


async def test_a_page_without_audio_fails_with_the_reason(site: Any, harness: Harness) -> None:
    _, server = site
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/empty.html"))))
    with pytest.raises(NoAudioError):
        await harness.runner.analyse(job.id)
    failed = await harness.store.get(job.id)
    assert failed.status == "failed"
    assert failed.error == "No audio found on this page."
    assert failed.to_json()["looked_for"][0] == looked_for()[0]


async def test_per_client_limit_refuses_more_jobs(site: Any, tmp_path: Path) -> None:
    upstream, server = site
    for n in range(3):
        upstream.album(f"/album{n}.html", SIZES)
    async with open_harness(runner_settings(tmp_path, max_jobs_per_client=2)) as harness:
        for n in range(2):
            await harness.runner.submit(JobSpec(str(server.make_url(f"/album{n}.html")), client_id="tab"))
        with pytest.raises(JobLimitError) as caught:
            await harness.runner.submit(JobSpec(str(server.make_url("/album2.html")), client_id="tab"))
        assert caught.value.retry_after > 0
        other, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album2.html")), client_id="x"))
        assert other.status == "queued"


async def test_cancel_stops_a_server_job_and_leaves_no_part_files(site: Any, harness: Harness) -> None:
    upstream, server = site
    upstream.gates["one.mp3"] = asyncio.Event()
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), mode="server"))
    await job_in(harness, job.id, "downloading")
    folder = harness.runner.downloads_dir() / "Harbour Songs"
    async with asyncio.timeout(10):
        while not any(p.name.endswith(".part") for p in folder.iterdir()):
            await asyncio.sleep(0.02)
    cancelled = await harness.runner.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    with pytest.raises(JobActiveError):
        await harness.runner.delete(
            (await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), mode="server")))[0].id
        )


async def test_a_restarted_runner_resumes_a_server_job_with_range(site: Any, tmp_path: Path) -> None:
    upstream, server = site
    upstream.gates["two.mp3"] = asyncio.Event()
    settings = runner_settings(tmp_path)
    url = str(server.make_url("/album.html"))
    async with open_harness(settings) as harness:
        job, _ = await harness.runner.submit(JobSpec(url, mode="server"))
        folder = harness.runner.downloads_dir() / "Harbour Songs"
        async with asyncio.timeout(10):
            while not (folder / "02 - two.part").exists() or (folder / "02 - two.part").stat().st_size == 0:
                await asyncio.sleep(0.02)
        await job_in(harness, job.id, "downloading")
        # leaving the block closes the runner as a shutdown does: the job stays active in the store
    assert (folder / "02 - two.part").stat().st_size > 0
    upstream.gates["two.mp3"].set()
    async with open_harness(settings) as harness:
        done = await job_in(harness, job.id, "completed", "failed")
        assert done.status == "completed", done.error
        assert (folder / "02 - two.mp3").read_bytes() == upstream.tracks["two.mp3"]
        ranges = upstream.requests_for("two.mp3")
        assert ranges[-1] is not None and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"
        assert len(upstream.requests_for("one.mp3")) == 1  # finished before the restart: not fetched again


async def test_retry_fetches_only_the_failed_tracks(site: Any, harness: Harness) -> None:
    upstream, server = site
    missing = upstream.tracks.pop("three.mp3")
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), mode="server"))
    first = await job_in(harness, job.id, "completed", "failed")
    assert [t.status for t in first.tracks] == ["done", "done", "failed"]
    assert first.status == "completed"
    upstream.tracks["three.mp3"] = missing
    await harness.runner.retry_failed(job.id)
    second = await job_in(harness, job.id, "completed", "failed")
    assert [t.status for t in second.tracks] == ["skipped", "skipped", "done"] or [
        t.status for t in second.tracks
    ] == ["done", "done", "done"]
    assert len(upstream.requests_for("one.mp3")) == 1


async def _read_zip(harness: Harness, job_id: str) -> tuple[str, dict[str, bytes]]:
    body, stream = await read_zip(harness.runner, job_id)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return stream.filename, {n: archive.read(n) for n in archive.namelist() if not n.endswith(".m3u8")}


async def test_a_browser_retry_runs_the_same_job_again_with_the_whole_album(
    site: Any, harness: Harness
) -> None:
    upstream, server = site
    missing = upstream.tracks.pop("three.mp3")
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html")), name="Kept.zip"))
    await harness.runner.analyse(job.id)
    first_name, first = await _read_zip(harness, job.id)
    partial = await job_in(harness, job.id, "completed", "failed")
    assert [t.status for t in partial.tracks] == ["done", "done", "failed"]
    assert first_name == "Kept.zip" and len(first) == 2

    upstream.tracks["three.mp3"] = missing
    again = await harness.runner.retry_failed(job.id)
    assert again.id == job.id and again.status == "queued"
    ready = await harness.runner.analyse(job.id)
    assert ready.status == "ready"
    assert [t.status for t in ready.tracks] == ["done", "done", "pending"]  # the good ones stay done
    second_name, second = await _read_zip(harness, job.id)
    finished = await job_in(harness, job.id, "completed", "failed")
    assert [t.status for t in finished.tracks] == ["done", "done", "done"]
    assert second_name == first_name
    assert sorted(second.values()) == sorted(upstream.tracks[name] for name, _ in SIZES)
    assert len(await harness.store.list_jobs()) == 1  # no second job

    third_name, third = await _read_zip(harness, (await _again_ready(harness, job.id)).id)
    assert (third_name, third) == (second_name, second)  # "Download again": the same ZIP once more


async def _again_ready(harness: Harness, job_id: str) -> Any:
    await harness.runner.again(job_id)
    return await harness.runner.analyse(job_id)


async def test_again_is_refused_while_running_and_for_a_server_job_with_tracks(
    site: Any, harness: Harness
) -> None:
    upstream, server = site
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html"))))
    await harness.runner.analyse(job.id)
    with pytest.raises(JobActiveError):
        await harness.runner.again(job.id)
    upstream.gates["two.mp3"] = asyncio.Event()  # hold the second track half-way
    saved, _ = await harness.runner.submit(
        JobSpec(str(server.make_url("/album.html")), mode="server", name="Busy")
    )
    for _ in range(400):
        if await harness.runner.busy_folders():
            break
        await asyncio.sleep(0.01)
    assert await harness.runner.busy_folders() == frozenset({"Busy"})  # written while it downloads
    upstream.gates["two.mp3"].set()
    await job_in(harness, saved.id, "completed")
    assert await harness.runner.busy_folders() == frozenset()
    with pytest.raises(BadRequestError):
        await harness.runner.again(saved.id)


async def test_a_job_run_again_counts_against_the_job_limits(site: Any, tmp_path: Path) -> None:
    _, server = site
    async with open_harness(runner_settings(tmp_path, max_active_jobs=1)) as harness:
        first, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html"))))
        await harness.runner.analyse(first.id)
        await harness.runner.cancel(first.id)
        second, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html?v=2"))))
        await harness.runner.analyse(second.id)  # ready: the one active job allowed
        with pytest.raises(JobLimitError):
            await harness.runner.again(first.id)
        await harness.runner.cancel(second.id)
        assert (await harness.runner.again(first.id)).status == "queued"


async def test_a_browser_job_without_a_name_keeps_none_so_a_second_run_names_the_same(
    site: Any, harness: Harness
) -> None:
    _, server = site
    job, _ = await harness.runner.submit(JobSpec(str(server.make_url("/album.html"))))
    await harness.runner.analyse(job.id)
    first_name, _ = await _read_zip(harness, job.id)
    await job_in(harness, job.id, "completed")
    assert (await harness.store.get(job.id)).spec.name is None  # not the title: that is no Name
    second_name, _ = await _read_zip(harness, (await _again_ready(harness, job.id)).id)
    assert first_name == second_name == "Harbour Songs.zip"
