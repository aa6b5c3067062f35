"""What the runner keeps, in memory only, about jobs made from pages a user's browser sent.

One record per such job: the sent page until it is analysed, and the cookies the user chose to send
until the job ends. Cookies are first narrowed to the sites of the tracks found, then handed to the
job's downloads through ``Fetcher.with_cookies``; nothing here ever reaches the job store, an event or
a log line (only how many cookies and their domains are logged). The ids of the last ``KEPT`` sent
jobs are remembered after they end, so a retry can say to send the page again instead of fetching it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from audiofetch.detect import GivenPage
from audiofetch.net import Fetcher, JobCookies

__all__ = ["SentPages"]

log = logging.getLogger(__name__)

KEPT = 200


@dataclass(slots=True)
class _Sent:
    given: GivenPage | None
    cookies: JobCookies | None


class SentPages:
    """The runner's record of sent-page jobs (see the module docstring)."""

    def __init__(self) -> None:
        self._active: dict[str, _Sent] = {}
        self._ids: dict[str, None] = {}  # the last KEPT sent jobs, active or not

    def add(self, job_id: str, given: GivenPage, cookies: JobCookies | None) -> None:
        """Keep ``given`` until it is analysed and ``cookies`` until the job ends."""
        self._active[job_id] = _Sent(given, cookies or None)
        self._ids[job_id] = None
        while len(self._ids) > KEPT:
            del self._ids[next(iter(self._ids))]

    def __contains__(self, job_id: object) -> bool:
        """Whether the job was made from a sent page (for the last ``KEPT`` of them)."""
        return job_id in self._ids

    def take_page(self, job_id: str) -> GivenPage | None:
        """The sent page, handed over once (the analysis is its only reader)."""
        record = self._active.get(job_id)
        if record is None:
            return None
        given, record.given = record.given, None
        return given

    def keep_cookies_for(self, job_id: str, urls: Iterable[str]) -> None:
        """Narrow the job's cookies to those a request to one of ``urls`` (its tracks) would carry."""
        record = self._active.get(job_id)
        if record is None or record.cookies is None:
            return
        record.cookies = record.cookies.only_for(urls) or None
        kept = record.cookies or JobCookies()
        log.debug("downloads use %d of the cookies sent, for %s", len(kept), ", ".join(sorted(kept.domains)))

    def fetcher(self, job_id: str, shared: Fetcher) -> Fetcher:
        """The Fetcher for the job's downloads: ``shared``, with the job's cookies if it has any."""
        record = self._active.get(job_id)
        return shared.with_cookies(record.cookies if record is not None else None)

    def cookie_domains(self, job_id: str) -> frozenset[str]:
        """The domains of the cookies the job's downloads use now (empty once it has ended)."""
        record = self._active.get(job_id)
        return record.cookies.domains if record is not None and record.cookies else frozenset()

    def end(self, job_id: str) -> None:
        """The job ended: drop its page and cookies (its id stays known)."""
        self._active.pop(job_id, None)

    def forget(self, job_id: str) -> None:
        """The job was deleted."""
        self._active.pop(job_id, None)
        self._ids.pop(job_id, None)
