"""``audiofetch move-jobs``: a single server's SQLite jobs into PostgreSQL, run as the real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from audiofetch.jobs import SQLITE_FILE, DataFolderLock, JobSpec, JobStore, JobTrack, PgJobStore
from tests.pg.nodes import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audiofetch", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


async def test_jobs_move_once_keep_everything_and_unfinished_ones_are_taken_over(
    tmp_path: Path, pg_url: str
) -> None:
    data = tmp_path / "data"
    sqlite = await JobStore.open(data / SQLITE_FILE)
    done = await sqlite.create(JobSpec("https://example.com/a", mode="server", name="A", client_id="me"))
    await sqlite.set_tracks(done.id, [JobTrack(1, "https://example.com/1.mp3", "One")])
    await sqlite.update_track(done.id, 1, status="done", bytes_done=10, size=10, file_name="01 One.mp3")
    done = await sqlite.update(done.id, status="completed")
    running = await sqlite.create(JobSpec("https://example.com/b", mode="server", client_id="you"))
    running = await sqlite.set_tracks(running.id, [JobTrack(1, "https://example.com/2.mp3")])
    running = await sqlite.update(running.id, status="downloading")
    await sqlite.close()

    first = run_cli("move-jobs", "--data-dir", str(data), "--to", pg_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("moved 2 jobs to postgresql://") and "1 unfinished" in first.stdout
    again = run_cli("move-jobs", "--data-dir", str(data), "--to", pg_url)
    assert again.returncode == 0 and "moved 0 jobs" in again.stdout and "2 were already there" in again.stdout

    node = await PgJobStore.open(pg_url, node="n1")
    try:
        assert await node.get(done.id) == done
        assert await node.list_jobs(client_id="me") == [done]
        assert [job.id for job in await node.interrupted()] == [running.id]  # nobody held it: taken over
        assert await node.interrupted() == []
    finally:
        await node.close()


def test_a_running_server_or_a_missing_database_is_one_line_not_a_traceback(
    tmp_path: Path, pg_url: str
) -> None:
    missing = run_cli("move-jobs", "--data-dir", str(tmp_path / "nothing"), "--to", pg_url)
    assert missing.returncode != 0 and "there is no job database" in missing.stderr
    assert "Traceback" not in missing.stderr
    data = tmp_path / "data"
    data.mkdir()
    (data / SQLITE_FILE).touch()
    lock = DataFolderLock(data)
    lock.acquire()  # a server still runs on this folder
    try:
        busy = run_cli("move-jobs", "--data-dir", str(data), "--to", pg_url)
    finally:
        lock.release()
    assert busy.returncode != 0 and "another AudioFetch server" in busy.stderr
    assert len(busy.stderr.strip().splitlines()) == 1
    unreachable = run_cli("move-jobs", "--data-dir", str(data), "--to", "postgresql://app:pw@127.0.0.1:1/x")
    assert unreachable.returncode != 0 and "cannot reach the job database postgresql://app@127.0.0.1:1/x" in (
        unreachable.stderr
    )
    assert "pw" not in unreachable.stderr and "Traceback" not in unreachable.stderr
