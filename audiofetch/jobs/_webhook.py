"""The end-of-job webhook: when a server-mode job ends, POST its JSON to ``AUDIOFETCH_NOTIFY_URL``.

It goes through the guarded ``Fetcher`` like every other request, so a private or loopback address is
refused unless ``AUDIOFETCH_ALLOW_NETWORKS`` lets it through: a webhook is one more way to make the
server send a request, and must not become a way into the network behind it. Sending happens in the
background (a job never waits for its webhook); a receiver that is down or answers 5xx/429 is tried
again a few times, then given up with a log line. Browser-mode jobs have their owner watching: no webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from audiofetch.config import Settings
from audiofetch.errors import BlockedURLError, FetchError
from audiofetch.net import Fetcher

from ._model import Job

__all__ = ["WEBHOOK_EVENT", "JobWebhook"]

log = logging.getLogger(__name__)

WEBHOOK_EVENT = "job.completed"
_HEADERS = {"User-Agent": "AudioFetch webhook", "X-AudioFetch-Event": WEBHOOK_EVENT}
_RETRY_STATUSES = frozenset({408, 425, 429})


class JobWebhook:
    """Sends the webhook of each server-mode job that ends; owns the tasks doing it (``close`` ends them).

    ``attempts`` tries per job, ``backoff`` seconds before the second (doubled for each next one).
    """

    def __init__(
        self, settings: Settings, fetcher: Fetcher, *, attempts: int = 3, backoff: float = 2.0
    ) -> None:
        self._url = settings.notify_url
        self._fetcher = fetcher
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._tasks: set[asyncio.Task[bool]] = set()
        self._closed = False

    def job_ended(self, job: Job) -> None:
        """Schedule the webhook for ``job`` if it is a server-mode job and a URL is set; never waits."""
        if not self._url or self._closed or job.spec.mode != "server":
            return
        task = asyncio.create_task(self.send(job.to_json()), name=f"webhook-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, body: Mapping[str, Any]) -> bool:
        """POST ``body`` to the webhook URL, retrying what may pass later; True once a 2xx came back.

        A refused address (``BlockedURLError``) is not retried: it will be refused again.
        """
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            try:
                status = await self._fetcher.post_json(self._url, body, headers=_HEADERS)
            except BlockedURLError as exc:
                log.warning("webhook for job %s not sent: %s", body.get("id"), exc.user_message)
                return False
            except FetchError as exc:
                if last or not exc.retryable:
                    log.warning("webhook for job %s failed: %s", body.get("id"), exc.user_message)
                    return False
            else:
                if 200 <= status < 300:
                    return True
                if last or not (status >= 500 or status in _RETRY_STATUSES):
                    log.warning("webhook for job %s answered %d; given up", body.get("id"), status)
                    return False
            await asyncio.sleep(delay)
            delay *= 2
        return False

    async def wait(self) -> None:
        """Return once every webhook scheduled so far has been sent or given up (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop the webhooks still being sent (the server is stopping) and accept no more."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
