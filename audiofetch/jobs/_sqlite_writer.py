"""The job store's threads. Every write is a command on a bounded queue run by one writer thread
(datasette's pattern): the loop never waits on SQLite and writes never contend. The writer runs all that
waits (up to ``max_batch``) in one transaction, each command in a savepoint so a failing one fails only
its caller; track updates are merged per track first. Awaiting a write returns once it is committed
(cancelling the await does not withdraw it). Reads run in threads on query-only connections.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from audiofetch.errors import JobError, JobNotFound
from audiofetch.jobs._sqlite_schema import connect, store_error, touch

__all__ = ["Database", "TrackUpdate"]

_T = TypeVar("_T")


@dataclass(slots=True)
class _Command:
    apply: Callable[[sqlite3.Connection], object]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class TrackUpdate:
    job_id: str
    index: int
    fields: dict[str, object]
    future: asyncio.Future[Any]


_Item = _Command | TrackUpdate
_Outcome = tuple[asyncio.Future[Any], object, BaseException | None]


class Database:
    """One SQLite file: a writer thread (``start``, ``close``), ``write`` and ``read`` from the loop.

    ``run_id`` marks every job a write touches as written by this process.
    """

    def __init__(
        self, path: Path, run_id: str, *, busy_timeout: float, queue_size: int, max_batch: int
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._max_batch = max_batch
        self._loop = asyncio.get_running_loop()
        self._run_id = run_id
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size + 1)
        self._slots = asyncio.Semaphore(queue_size)
        self._lock = threading.Lock()
        self._closing = False
        self._failure: BaseException | None = None
        self._readers: list[sqlite3.Connection] = []
        # A daemon, so a forgotten close() cannot hang the interpreter at exit; close() drains the queue.
        self._thread = threading.Thread(
            target=self._writer_main, name=f"jobstore-writer:{path.name}", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        """Finish every write already queued, stop the writer and close all connections. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._queue.put_nowait(None)
        await asyncio.to_thread(self._thread.join)
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    async def read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closing:
            raise JobError("the job store is closed", expected=False)
        return await asyncio.to_thread(self._run_read, query)

    def _run_read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            conn = self._readers.pop() if self._readers else None
        try:
            if conn is None:
                conn = connect(self.path, self._busy_timeout, writer=False)
            conn.execute("BEGIN")
            try:
                return query(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise store_error(exc) from exc
        finally:
            if conn is not None:
                with self._lock:
                    if self._closing:
                        conn.close()
                    else:
                        self._readers.append(conn)

    async def write(self, apply: Callable[[sqlite3.Connection], _T]) -> _T:
        future = self._loop.create_future()
        await self.put(_Command(apply, future))
        result: _T = await future
        return result

    async def put(self, item: _Item) -> None:
        """Queue a write; waits (without blocking the loop) while ``queue_size`` writes are pending."""
        await self._slots.acquire()
        with self._lock:
            refusal = self._refusal()
            if refusal is None:
                self._queue.put_nowait(item)
        if refusal is not None:
            self._slots.release()
            raise refusal

    def _refusal(self) -> JobError | None:
        if self._failure is not None:
            error = JobError(f"the job store {self.path} stopped: {self._failure}", expected=False)
            error.__cause__ = self._failure
            return error
        if self._closing:
            return JobError("the job store is closed", expected=False)
        return None

    def _writer_main(self) -> None:
        try:
            conn = connect(self.path, self._busy_timeout, writer=True)
        except BaseException as exc:
            self._fail_all(exc)
            return
        try:
            stop = False
            while not stop:
                batch: list[_Item] = []
                item = self._queue.get()
                while item is not None:
                    batch.append(item)
                    if len(batch) >= self._max_batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                stop = item is None
                if batch:
                    self._run_batch(conn, batch)
        except BaseException as exc:
            self._fail_all(exc)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        outcomes: list[_Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            run: list[TrackUpdate] = []
            for item in batch:
                if isinstance(item, TrackUpdate):
                    run.append(item)
                    continue
                if run:
                    outcomes.extend(self._run_track_updates(conn, run))
                    run = []
                outcomes.append(self._run_command(conn, item))
            if run:
                outcomes.extend(self._run_track_updates(conn, run))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = store_error(exc)
            outcomes = [(item.future, None, error) for item in batch]
        except BaseException as exc:
            self._settle([(item.future, None, exc) for item in batch])
            raise
        self._settle(outcomes)

    @staticmethod
    def _run_command(conn: sqlite3.Connection, command: _Command) -> _Outcome:
        conn.execute("SAVEPOINT command")
        try:
            result = command.apply(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO command")
            conn.execute("RELEASE command")
            return command.future, None, store_error(exc)
        conn.execute("RELEASE command")
        return command.future, result, None

    def _run_track_updates(self, conn: sqlite3.Connection, updates: list[TrackUpdate]) -> list[_Outcome]:
        merged: dict[tuple[str, int], dict[str, object]] = {}
        for update in updates:
            merged.setdefault((update.job_id, update.index), {}).update(update.fields)
        missing: dict[tuple[str, int], BaseException] = {}
        for (job_id, index), fields in merged.items():
            assignments = ", ".join(f"{name} = ?" for name in fields)
            query = f"UPDATE tracks SET {assignments} WHERE job_id = ? AND idx = ?"
            if conn.execute(query, (*fields.values(), job_id, index)).rowcount == 0:
                known = conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone()
                missing[job_id, index] = (
                    JobError(f"job {job_id!r} has no track {index}")
                    if known
                    else JobNotFound(f"no job with id {job_id!r}")
                )
        touch(conn, {job_id for job_id, _ in merged}, self._run_id)
        return [(u.future, None, missing.get((u.job_id, u.index))) for u in updates]

    def _settle(self, outcomes: list[_Outcome]) -> None:
        """Hand results to the loop in one callback; a closed loop means nobody waits any more."""
        try:
            self._loop.call_soon_threadsafe(self._deliver, outcomes)
        except RuntimeError:
            pass

    def _deliver(self, outcomes: list[_Outcome]) -> None:
        for future, result, error in outcomes:
            if not future.done():
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
            self._slots.release()

    def _fail_all(self, exc: BaseException) -> None:
        """The writer cannot go on: refuse new writes and fail every queued one, so nobody hangs."""
        with self._lock:
            self._failure = exc
            leftovers: list[_Outcome] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    leftovers.append((item.future, None, self._refusal()))
        self._settle(leftovers)
