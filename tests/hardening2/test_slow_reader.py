"""Weakness 3: a browser reading its ZIP slowly made the server spool the whole job ahead of it.

The attack: open a browser-mode ZIP of three 64 MiB tracks and stop reading after the first bytes.
The server used to download everything into its spool at full speed. Now downloads pause once
``AUDIOFETCH_SPOOL_LOOKAHEAD`` bytes wait unread, and a reader that stays too slow for
``AUDIOFETCH_SLOW_READER_TIMEOUT`` seconds is dropped: its connection ends, the job fails saying why
and the spool is emptied.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.hardening2.kit import MIB, browsers, serve, site


async def test_a_reader_that_stops_reading_holds_a_bounded_spool_and_is_dropped_with_a_reason(
    tmp_path: Path,
) -> None:
    env = {"AUDIOFETCH_SPOOL_LOOKAHEAD": "4M", "AUDIOFETCH_SLOW_READER_TIMEOUT": "2"}
    async with site() as album, serve(tmp_path, **env) as server:
        album.big_size = 64 * MIB
        async with browsers(server.base, "127.0.0.1") as (visitor,):
            status, job = await visitor.submit(album.url("/album?n=3&kind=big"), workers=3)
            assert status == 202, job
            await visitor.job(job["id"], "ready")
            before = album.big_sent  # the probe's few bytes

            received = 0
            cut = False
            async with visitor.session.get(f"{server.base}/api/stream/{job['id']}") as response:
                assert response.status == 200
                received += len(await response.content.read(64 * 1024))
                failed = await visitor.job(job["id"], "failed", "completed")
                try:  # whatever was in flight arrives, then the connection ends without the archive's end
                    while chunk := await response.content.read(MIB):
                        received += len(chunk)
                except aiohttp.ClientPayloadError:
                    cut = True
    assert failed["status"] == "failed"
    assert "read the ZIP too slowly" in failed["error"]
    assert cut or received < response.content_length  # type: ignore[operator]  # the announced length is known here
    taken = album.big_sent - before
    assert taken < 3 * 64 * MIB // 2, f"the server took {taken / MIB:.0f} MiB for a reader that stopped"
    assert not (server.data / "spool" / job["id"]).exists()
