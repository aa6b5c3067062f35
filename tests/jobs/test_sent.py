"""``SentPages``: a sent page is handed to the analysis once; its cookies narrow to the tracks' sites,
ride on that job's fetcher only, and end with the job."""

from __future__ import annotations

from audiofetch.config import Settings
from audiofetch.detect import GivenPage
from audiofetch.jobs._sent import SentPages
from audiofetch.net import JobCookie, JobCookies, open_fetcher

GIVEN = GivenPage("http://127.0.0.1:9/album", "<audio src='/a.mp3'></audio>")


async def test_a_sent_jobs_page_and_cookies_live_exactly_as_long_as_they_should(settings: Settings) -> None:
    sent = SentPages()
    cookies = JobCookies([JobCookie("s", "v", "media.example"), JobCookie("t", "w", "tracker.example")])
    sent.add("job", GIVEN, cookies)
    assert "job" in sent and "other" not in sent
    assert sent.take_page("job") == GIVEN and sent.take_page("job") is None

    sent.keep_cookies_for("job", ["https://media.example/a.mp3"])
    assert sent.cookie_domains("job") == {"media.example"}
    async with open_fetcher(settings) as shared:
        with_cookies = sent.fetcher("job", shared)
        assert with_cookies is not shared and sent.fetcher("other", shared) is shared

        sent.end("job")
        assert sent.fetcher("job", shared) is shared and sent.cookie_domains("job") == frozenset()
    assert "job" in sent  # still known as sent: a retry says to send it again
    sent.forget("job")
    assert "job" not in sent


async def test_cookies_for_no_track_site_are_all_dropped(settings: Settings) -> None:
    sent = SentPages()
    sent.add("job", GIVEN, JobCookies([JobCookie("s", "v", "elsewhere.example")]))
    sent.keep_cookies_for("job", ["http://127.0.0.1:9/a.mp3"])
    assert sent.cookie_domains("job") == frozenset()
    async with open_fetcher(settings) as shared:
        assert sent.fetcher("job", shared) is shared
