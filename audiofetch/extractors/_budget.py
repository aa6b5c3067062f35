"""The work budget of one page's extraction: steps, not time, plus a cancel flag the caller may raise.

Everything that evaluates untrusted script text (the literal reader, variable resolution, the script
scan) charges its steps to the budget of the page being read. Past the limit, or once ``cancel()`` has
been called (from any thread: detection does it when the page's time budget ends), the next charge
raises ``OutOfWork``. It is not a ``ValueError``, so the reader's lenient fallbacks never swallow it;
detection catches it around each extractor and keeps what the others found.

The budget in force is held in a context variable: ``asyncio.to_thread`` copies the context into the
worker thread, and code deep inside the reader finds it without every signature carrying it. Pure: no
clock, no IO; a step is a unit of work (a character read, a value resolved), so results never depend on
the machine's speed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DEFAULT_STEPS", "OutOfWork", "WorkBudget", "budget_scope", "current_budget"]

# About 4 s of the reader's work on a 2-core machine; a large real page (a 400 KB bundle next to a
# 3,000-entry playlist) needs well under a tenth of it.
DEFAULT_STEPS = 40_000_000


class OutOfWork(Exception):
    """The page's work budget is spent (``cancelled`` False) or its caller cancelled it (True)."""

    def __init__(self, message: str, *, cancelled: bool) -> None:
        super().__init__(message)
        self.cancelled = cancelled


class WorkBudget:
    """Steps one page's extraction may take; ``cancel()`` is safe from another thread."""

    __slots__ = ("_cancelled", "limit", "used")

    def __init__(self, limit: int = DEFAULT_STEPS) -> None:
        self.limit = limit
        self.used = 0
        self._cancelled = False

    def cancel(self) -> None:
        """Make the next ``charge`` raise ``OutOfWork(cancelled=True)``: the page's time is up."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""
        return self._cancelled

    @property
    def exhausted(self) -> bool:
        """Whether the steps are spent (or the budget cancelled): any further charge raises."""
        return self._cancelled or self.used > self.limit

    def charge(self, steps: int = 1) -> None:
        """Count ``steps``; raises ``OutOfWork`` once the limit is passed or the budget is cancelled."""
        self.used += steps
        if self._cancelled:
            raise OutOfWork("detection was stopped: the page's time budget ended", cancelled=True)
        if self.used > self.limit:
            raise OutOfWork(
                f"the page's scripts need more than {self.limit:,} steps to read",
                cancelled=False,
            )


_CURRENT: contextvars.ContextVar[WorkBudget | None] = contextvars.ContextVar("work_budget", default=None)


def current_budget() -> WorkBudget:
    """The budget in force; outside any ``budget_scope`` a fresh default one for the caller alone
    (so a direct call of the reader is bounded all the same, and calls never drain each other)."""
    budget = _CURRENT.get()
    return WorkBudget() if budget is None else budget


@contextmanager
def budget_scope(budget: WorkBudget) -> Iterator[WorkBudget]:
    """Charge everything run inside the block to ``budget``."""
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
