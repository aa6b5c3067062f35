"""Refusals of the HTTP layer itself (who may do what, how often), raised by the functions the API and
the pages share; ``_middlewares.ERROR_STATUSES`` gives them their statuses like every other error."""

from __future__ import annotations

from audiofetch.errors import AudioFetchError

__all__ = ["ADMIN_FIRST", "AdminRequired", "LoginThrottled", "NotOwner", "WrongPassword"]

ADMIN_FIRST = "log in as admin first (POST /api/auth/login), or send a valid bearer token"


class AdminRequired(AudioFetchError):
    """Only the admin may do this (401 with ``WWW-Authenticate``); pages word it for their form."""

    def __init__(self, message: str = ADMIN_FIRST, *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class NotOwner(AudioFetchError):
    """Someone else's job: only the client that started it, or the admin, may change it (403)."""

    def __init__(self) -> None:
        super().__init__("only the client that started this job, or the admin, may change it")


class WrongPassword(AudioFetchError):
    """The admin password did not match (401)."""

    field = "password"

    def __init__(self) -> None:
        super().__init__("wrong password")


class LoginThrottled(AudioFetchError):
    """Too many login attempts from this address or overall (429 with ``Retry-After``)."""

    field = "password"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after} s")
        self.retry_after = retry_after
