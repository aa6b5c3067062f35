"""Logging set-up: console at the configured level, ``audiofetch.log`` in the data folder at DEBUG.

Every record carries the id of the job it belongs to (``job_id_var``, a ContextVar set by whoever runs a
job), so lines of parallel jobs can be told apart. Only the entry points (``cli``, ``web``) call
``setup_logging``.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = ["job_id_var", "setup_logging"]

job_id_var: ContextVar[str] = ContextVar("audiofetch_job_id", default="-")
_FORMAT = "%(asctime)s %(levelname)-7s [%(job_id)s] %(name)s: %(message)s"


class _JobIdFilter(logging.Filter):
    """Adds ``record.job_id`` from the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = job_id_var.get()
        return True


def setup_logging(level: str = "INFO", data_dir: Path | None = None) -> None:
    """Configure the ``audiofetch`` logger: console at ``level``, a rotating DEBUG file in ``data_dir``."""
    logger = logging.getLogger("audiofetch")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    console.addFilter(_JobIdFilter())
    logger.addHandler(console)
    if data_dir is not None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            file_handler = RotatingFileHandler(
                data_dir / "audiofetch.log", maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8"
            )
        except OSError as exc:  # a read-only data folder: the server refuses it clearly at start-up
            logger.warning("cannot write the log file in %s (%s); logging to the console only", data_dir, exc)
            return
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        file_handler.addFilter(_JobIdFilter())
        logger.addHandler(file_handler)
