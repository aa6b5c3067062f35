"""DirectorySink's ``edit_head``: bytes put in place of a download's first bytes, with resume and restart."""

from __future__ import annotations

from pathlib import Path

from audiofetch.download import DirectorySink, DownloadReport, HeadFn, download_all
from audiofetch.models import Track
from audiofetch.net import open_fetcher
from tests.download.media_server import FAST_RETRIES, MediaServer, payload, settings

KIB = 1024
HEAD = b"<<a new head>>"


async def replace_three(position: int, first: bytes) -> tuple[bytes, int]:
    """Puts ``HEAD`` in place of the first three bytes of every track."""
    assert len(first) >= 3
    return HEAD, 3


async def keep_all(position: int, first: bytes) -> tuple[bytes, int]:
    return b"", 0


async def run(tracks: list[Track], folder: Path, edit: HeadFn) -> DownloadReport:
    config = settings()
    async with open_fetcher(config) as fetcher:
        return await download_all(
            fetcher, tracks, DirectorySink(folder, edit_head=edit), workers=2, settings=config,
            retry_policy=FAST_RETRIES,
        )  # fmt: skip


async def test_the_head_is_replaced_and_the_rest_is_byte_identical(
    media: MediaServer, tmp_path: Path
) -> None:
    data = {n: payload(n, 300 * KIB + n) for n in (1, 2)}
    tracks = [Track(media.add(f"{n}.mp3", d), title=f"T{n}", index=n) for n, d in data.items()]
    report = await run(tracks, tmp_path, replace_three)

    for result, source in zip(report.results, data.values(), strict=True):
        assert result.filename is not None
        saved = (tmp_path / result.filename).read_bytes()
        assert saved == HEAD + source[3:]
        assert result.size == len(saved)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01 - T1.mp3", "02 - T2.mp3"]


async def test_keeping_the_head_leaves_the_file_as_sent(media: MediaServer, tmp_path: Path) -> None:
    source = payload(3, 200 * KIB)
    report = await run([Track(media.add("k.mp3", source), title="K", index=1)], tmp_path, keep_all)
    assert (tmp_path / "01 - K.mp3").read_bytes() == source and report.results[0].size == len(source)


async def test_an_edited_part_resumes_at_the_servers_offset(media: MediaServer, tmp_path: Path) -> None:
    source = payload(4, 400 * KIB)
    track = Track(media.add("r.mp3", source), title="R", index=1)
    kept = 150 * KIB  # server bytes an earlier run saved
    (tmp_path / f"01 - R.head{len(HEAD)}-3.part").write_bytes(HEAD + source[3:kept])
    sink = DirectorySink(tmp_path, edit_head=replace_three)
    await sink.prepare([track])
    assert sink.partial_size(0) == kept

    await run([track], tmp_path, replace_three)

    (request,) = media.requests_for("r.mp3")
    assert request.range == f"bytes={kept}-"
    assert (tmp_path / "01 - R.mp3").read_bytes() == HEAD + source[3:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01 - R.mp3"]


async def test_a_server_that_ignores_range_gets_a_fresh_edited_file(
    media: MediaServer, tmp_path: Path
) -> None:
    source = payload(5, 300 * KIB)
    track = Track(media.add("n.mp3", source, behaviour="norange"), title="N", index=1)
    (tmp_path / f"01 - N.head{len(HEAD)}-3.part").write_bytes(HEAD + source[3 : 100 * KIB])

    await run([track], tmp_path, replace_three)

    assert (tmp_path / "01 - N.mp3").read_bytes() == HEAD + source[3:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01 - N.mp3"]


async def test_an_edited_part_shorter_than_its_head_starts_over(media: MediaServer, tmp_path: Path) -> None:
    source = payload(6, 200 * KIB)
    track = Track(media.add("s.mp3", source), title="S", index=1)
    (tmp_path / f"01 - S.head{len(HEAD)}-3.part").write_bytes(HEAD[:5])  # the head write was cut short

    await run([track], tmp_path, replace_three)

    (request,) = media.requests_for("s.mp3")
    assert request.range is None
    assert (tmp_path / "01 - S.mp3").read_bytes() == HEAD + source[3:]
