"""Progress events from the board, on a hand-driven clock: throttling, speeds, ETA, the final event."""

from __future__ import annotations

from audiofetch.download import BYTE_EVENTS_PER_SECOND, JobProgress, ProgressEvent, TrackProgress, TrackResult
from audiofetch.download._progress import ProgressBoard


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_byte_events_are_throttled_but_state_changes_always_sent() -> None:
    clock, events = Clock(), list[ProgressEvent]()
    board = ProgressBoard([1, 2], events.append, clock=clock)
    board.started(0, 0, 10_000_000)
    for step in range(1, 1001):  # 1000 pieces of 10 kB over 2 simulated seconds
        clock.now += 0.002
        board.received(0, 10_000, step * 10_000)
    board.finished(0, "done", size=10_000_000, filename="01 - A.mp3")
    board.finished(1, "failed", error="the server answered 404 Not Found")

    track_events = [e for e in events if isinstance(e, TrackProgress)]
    byte_events = [e for e in track_events if e.status == "downloading"]
    assert len(byte_events) <= 1 + 2 * BYTE_EVENTS_PER_SECOND + 1
    assert [e.status for e in track_events[-2:]] == ["done", "failed"]
    assert track_events[-2].filename == "01 - A.mp3"
    assert track_events[-1].error == "the server answered 404 Not Found"
    assert byte_events[-1].speed == pytest_approx(5_000_000)


def test_job_events_carry_totals_speed_and_eta() -> None:
    clock, events = Clock(), list[ProgressEvent]()
    board = ProgressBoard([1, 2], events.append, clock=clock)
    board.started(0, 0, 1000)
    board.started(1, 0, 3000)
    clock.now += 1.0
    board.received(0, 1000, 1000)
    board.finished(0, "done", size=1000, filename="a")
    jobs = [e for e in events if isinstance(e, JobProgress)]
    latest = jobs[-1]
    assert (latest.tracks_done, latest.tracks_failed, latest.tracks_total) == (1, 0, 2)
    assert (latest.bytes_done, latest.bytes_total) == (1000, 4000)
    assert latest.speed == 1000.0 and latest.eta == 3.0
    board.job_finished()
    final = events[-1]
    assert isinstance(final, JobProgress) and final.finished


def test_bytes_total_is_unknown_until_every_open_track_announced_its_size() -> None:
    events: list[ProgressEvent] = []
    board = ProgressBoard([1, 2], events.append, clock=Clock())
    board.started(0, 0, None)
    job = [e for e in events if isinstance(e, JobProgress)][-1]
    assert job.bytes_total is None and job.eta is None


def test_a_failing_listener_does_not_stop_the_board() -> None:
    def broken(event: ProgressEvent) -> None:
        raise RuntimeError("listener bug")

    board = ProgressBoard([1], broken, clock=Clock())
    board.started(0, 0, 10)
    board.finished(0, "done", size=10, filename="x")


def test_result_lines_read_well() -> None:
    done = TrackResult(1, "http://h/a.mp3", "A", "done", "01 - A.mp3", 3 * 1024 * 1024)
    failed = TrackResult(2, "http://h/b.mp3", "B", "failed", error="the server answered 404 Not Found")
    assert done.line() == "01 - A.mp3 (3.0 MiB)"
    assert failed.line() == "track 2 failed: the server answered 404 Not Found (http://h/b.mp3)"


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, rel=0.01)
