"""The exception tree every AudioFetch package raises from.

    AudioFetchError            base: .user_message (one line for a person), .expected
      ConfigError              bad or missing setting; raised at startup only
      FetchError               network layer; .url, .status, .retryable, .retry_after
        BlockedURLError        refused by the SSRF guard (scheme, address, port, size cap)
        TooLargeError          a body went past its configured cap
      DetectError              nothing recognisable on the page (expected=True)
        NoAudioError           the page was read but holds no track
        ParseError             the page could not be parsed within its budget
      ExtractError             an extractor met data it could not read
      RenderError              the render pass could not run the page (unavailable, timeout, crash)
      DownloadError            one track failed; the job carries on with the others
      ZipError                 ZIP writer misuse or a size that differs from the one announced
      JobError
        JobNotFound
        JobCancelled
        JobActiveError         the job is still running (delete refused)
        JobLimitError          too many jobs in flight or queued; .retry_after
        StreamBusyError        a browser-mode stream already has its one consumer
      BadRequestError          a request the user can fix (missing URL, bad mode, bad number)
      AccessError              the requester may not do this (raised by the server only)
        AuthRequired           credentials needed that the request did not bring
          AdminRequired        only the admin may
        NotOwner               someone else's job: only the client that started it, or the admin
        WrongPassword          the admin password did not match
        LoginThrottled         too many login attempts; .retry_after

``expected`` follows yt-dlp's flag: True means "the world is like that" (tell the user), False means
"probably our bug" (log a traceback). Third-party exceptions are translated into these at package edges
with ``raise ... from exc``. Only ``cli`` maps them to exit codes and only ``web`` to HTTP statuses.
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "AdminRequired",
    "AudioFetchError",
    "AuthRequired",
    "BadRequestError",
    "BlockedURLError",
    "ConfigError",
    "DetectError",
    "DownloadError",
    "ExtractError",
    "FetchError",
    "JobActiveError",
    "JobCancelled",
    "JobError",
    "JobLimitError",
    "JobNotFound",
    "LoginThrottled",
    "NO_AUDIO_MESSAGE",
    "NoAudioError",
    "NotOwner",
    "ParseError",
    "RenderError",
    "StreamBusyError",
    "TooLargeError",
    "WrongPassword",
    "ZipError",
]


class AudioFetchError(Exception):
    """Base of every error AudioFetch raises on purpose."""

    expected: bool = True
    field: str | None = None
    """The input the error is about (``url``, ``workers``...), so a form can show it there; None: none."""

    def __init__(self, message: str, *, expected: bool | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if expected is not None:
            self.expected = expected
        if field is not None:
            self.field = field

    @property
    def user_message(self) -> str:
        """One line, safe to show to the person who caused it."""
        return " ".join(str(self).split())


class ConfigError(AudioFetchError):
    """A setting is missing or has a value we cannot use."""


class FetchError(AudioFetchError):
    """A request failed: connection, timeout, HTTP status or body limits."""

    field = "url"

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        expected: bool | None = None,
    ) -> None:
        super().__init__(message, expected=expected)
        self.url = url
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class BlockedURLError(FetchError):
    """The SSRF guard refused the target (scheme, userinfo, port or address)."""


class TooLargeError(FetchError):
    """A body grew past its configured cap; counted on bytes received."""


class DetectError(AudioFetchError):
    """The page could not be turned into a track list."""

    field = "url"


NO_AUDIO_MESSAGE = "No audio found on this page."


class NoAudioError(DetectError):
    """The page was read but holds no audio track.

    The message is one short sentence for a person; ``looked_for`` lists the conventions that were tried
    (shown behind a disclosure, with ``--verbose``, or in an API field of its own).
    """

    def __init__(self, message: str = NO_AUDIO_MESSAGE, *, looked_for: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.looked_for = looked_for


class ParseError(DetectError):
    """The page could not be parsed within its time or size budget."""


class ExtractError(AudioFetchError):
    """An extractor met data it could not read."""

    field = "url"

    def __init__(self, message: str, *, extractor: str, url: str | None = None) -> None:
        super().__init__(message)
        self.extractor = extractor
        self.url = url


class RenderError(AudioFetchError):
    """The render pass could not run the page's scripts: not installed, too slow, or the browser failed."""


class DownloadError(AudioFetchError):
    """One track could not be downloaded; the job continues with the others."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ZipError(AudioFetchError):
    """The ZIP writer was misused, or an entry's size differs from the one announced."""

    expected = False


class JobError(AudioFetchError):
    """A job-level problem."""


class JobNotFound(JobError):
    """No job has this id."""


class JobCancelled(JobError):
    """The job was cancelled by its owner."""


class JobActiveError(JobError):
    """The job is still running; finish or cancel it first."""


class JobLimitError(JobError):
    """Too many jobs in flight or waiting; ``retry_after`` says when to try again (seconds)."""

    def __init__(self, message: str, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StreamBusyError(JobError):
    """A browser-mode job's ZIP stream already has its one consumer."""


class BadRequestError(AudioFetchError):
    """A request the user can fix: a missing or malformed field."""


class AccessError(AudioFetchError):
    """The requester may not do this, or not now."""


class AuthRequired(AccessError):
    """The request needs credentials it did not bring (a bearer token, a login)."""


class AdminRequired(AuthRequired):
    """Only the admin may do this; ``field`` names the input that asked for it (``mode=server``)."""

    def __init__(
        self,
        message: str = "log in as admin first (POST /api/auth/login), or send a valid bearer token",
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)


class NotOwner(AccessError):
    """Someone else's job: only the client that started it, or the admin, may change it."""

    def __init__(self) -> None:
        super().__init__("only the client that started this job, or the admin, may change it")


class WrongPassword(AccessError):
    """The admin password did not match."""

    field = "password"

    def __init__(self) -> None:
        super().__init__("wrong password")


class LoginThrottled(AccessError):
    """Too many login attempts from this address or overall; ``retry_after`` seconds to wait."""

    field = "password"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after} s")
        self.retry_after = retry_after
