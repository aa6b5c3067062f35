"""ProgressView: one redrawn line on a terminal, plain per-track lines otherwise, fed by real events too."""

from __future__ import annotations

import io
from pathlib import Path

from audiofetch.cli._progress import ProgressView, human_bytes
from audiofetch.config import Settings
from audiofetch.download import DirectorySink, JobProgress, TrackProgress, download_all
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.cli.site_server import Site, payload


def job(done: int, *, total: int = 3, failed: int = 0, finished: bool = False) -> JobProgress:
    return JobProgress(
        tracks_total=total,
        tracks_done=done,
        tracks_failed=failed,
        bytes_done=done * 2048,
        bytes_total=total * 2048,
        speed=4096.0,
        eta=None if finished else 1.0,
        finished=finished,
    )


def track(index: int, status: str, *, error: str | None = None) -> TrackProgress:
    name = f"0{index} - Song.mp3"
    return TrackProgress(index, status, 2048, 2048, 0.0, error=error, filename=name)  # type: ignore[arg-type]


def test_human_bytes_picks_the_unit() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
        "3072.0 GiB",
    ]


def test_terminal_line_is_redrawn_in_place_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    view.on_event(job(0))
    view.on_event(track(1, "done"))
    view.on_event(job(3, finished=True))
    text = out.getvalue()

    assert text.startswith("\r[")
    assert text.endswith("\n") and text.count("\n") == 2  # the track line and the finished bar
    drawn = [part for part in text.split("\r") if part.strip()]
    assert drawn[0].startswith("[" + " " * 24 + "] 0/3 tracks")
    assert "ok     01 - Song.mp3 (2.0 KiB)\n" in text
    assert drawn[-1].startswith("[" + "#" * 24 + "] 3/3 tracks  6.0 KiB / 6.0 KiB")
    assert "ETA" not in drawn[-1]  # no estimate once the job is over


def test_terminal_track_line_first_clears_the_bar() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    view.on_event(job(1))
    width = len(out.getvalue()) - 1  # the bar as drawn, without its leading \r
    view.on_event(track(2, "failed", error="the server answered 404 Not Found"))
    after = out.getvalue()[width + 1 :]

    assert after == "\r" + " " * width + "\r" + "failed 02 - Song.mp3: the server answered 404 Not Found\n"


def test_terminal_redraws_are_throttled_but_the_last_one_always_shows() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    for done in range(3):
        view.on_event(job(done, total=50))  # back to back: only the first is drawn
    assert out.getvalue().count("\r") == 1
    view.on_event(job(50, total=50, finished=True))
    assert out.getvalue().count("\r") == 2 and out.getvalue().endswith("\n")


def test_plain_output_has_one_line_per_finished_or_failed_track_and_no_bar() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=False, stream=out)
    view.on_event(job(0))
    view.on_event(TrackProgress(1, "downloading", 100, 2048, 10.0, filename=None))
    view.on_event(track(1, "done"))
    view.on_event(track(2, "failed", error="cut off"))
    view.on_event(track(3, "skipped"))
    view.on_event(job(3, finished=True))

    assert out.getvalue().splitlines() == [
        "ok     01 - Song.mp3 (2.0 KiB)",
        "failed 02 - Song.mp3: cut off",
        "kept   03 - Song.mp3 (already there)",
    ]
    assert "\r" not in out.getvalue()


async def test_view_fed_by_a_real_download_prints_every_track(settings: Settings, tmp_path: Path) -> None:
    site = Site()
    site.start()
    try:
        tracks = [
            Track(site.file(f"/t{n}.mp3", payload(n, 30_000)), title=f"Song {n}", index=n) for n in (1, 2, 3)
        ]
        tracks.append(Track(site.url("/missing.mp3"), title="Gone", index=4))
        plain, terminal = io.StringIO(), io.StringIO()
        views = [
            ProgressView(interactive=False, stream=plain),
            ProgressView(interactive=True, stream=terminal),
        ]

        def both(event: object) -> None:
            for view in views:
                view.on_event(event)  # type: ignore[arg-type]

        async with open_fetcher(settings) as fetcher:
            await download_all(
                fetcher, tracks, DirectorySink(tmp_path), workers=2, settings=settings, on_event=both
            )
    finally:
        site.stop()

    lines = plain.getvalue().splitlines()
    assert sorted(line for line in lines if line.startswith("ok ")) == [
        "ok     01 - Song 1.mp3 (29.3 KiB)",
        "ok     02 - Song 2.mp3 (29.3 KiB)",
        "ok     03 - Song 3.mp3 (29.3 KiB)",
    ]
    failed = [line for line in lines if not line.startswith("ok ")]
    assert len(failed) == 1 and failed[0].startswith("failed track 4: ") and "404" in failed[0]
    last_draw = terminal.getvalue().rsplit("\r", 1)[-1]
    assert last_draw.startswith("[" + "#" * 24 + "] 4/4 tracks") and last_draw.endswith("\n")


def test_terminal_line_shows_bytes_percent_speed_and_eta() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    view.on_event(job(1))
    line = out.getvalue().strip("\r")
    assert line.startswith(
        "[" + "#" * 8 + " " * 16 + "] 1/3 tracks  2.0 KiB / 6.0 KiB  33%  4.0 KiB/s  ETA 1 s"
    )


def test_eta_over_a_minute_reads_as_minutes_and_seconds() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    slow = JobProgress(3, 0, 0, 0, 3 * 2048, 10.0, eta=185.0)
    view.on_event(slow)
    assert out.getvalue().rstrip().endswith("0%  10 B/s  ETA 3:05")


def test_end_line_closes_an_open_bar_so_the_next_message_starts_a_line() -> None:
    out = io.StringIO()
    view = ProgressView(interactive=True, stream=out)
    view.on_event(job(1))
    view.end_line()
    print("audiofetch: interrupted", file=out)
    assert out.getvalue().splitlines()[-1] == "audiofetch: interrupted"
    view.end_line()  # nothing drawn since: no blank line
    assert out.getvalue().endswith("ETA 1 s\naudiofetch: interrupted\n")
