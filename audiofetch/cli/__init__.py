"""The command line: ``audiofetch get | inspect | serve | extractors``.

Exit codes (the one place they are decided, see ``EXIT_CODES``):
0 every track arrived; 1 some or all tracks failed (listed); 2 bad input (options, URL, refused target);
3 the page has no audio; 4 the page could not be fetched (or rendered); 130 interrupted. Errors are one
line on stderr, never a traceback: log records reach stderr as one line each, with their traceback only when
``AUDIOFETCH_LOG_LEVEL=DEBUG`` (``serve`` logs as the server does, see ``audiofetch.logs``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from audiofetch import __version__
from audiofetch.config import SETTINGS, Settings, load_settings
from audiofetch.errors import (
    AudioFetchError,
    BlockedURLError,
    ConfigError,
    DetectError,
    FetchError,
    NoAudioError,
    RenderError,
)

__all__ = ["EXIT_CODES", "main"]

log = logging.getLogger(__name__)

OK, SOME_FAILED, BAD_INPUT, NO_AUDIO, PAGE_UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 4, 130
# Most specific class first: the first match decides.
EXIT_CODES: tuple[tuple[type[AudioFetchError], int], ...] = (
    (ConfigError, BAD_INPUT),
    (BlockedURLError, BAD_INPUT),
    (NoAudioError, NO_AUDIO),
    (DetectError, NO_AUDIO),
    (FetchError, PAGE_UNREACHABLE),
    (RenderError, PAGE_UNREACHABLE),
)


def exit_code_for(error: AudioFetchError) -> int:
    """The exit code for an AudioFetch error (1 when none is more specific)."""
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return SOME_FAILED


def _setting_help(name: str) -> str:
    for setting in SETTINGS:
        if setting.name == name:
            return f"{setting.help} Env: {setting.env}; default: {setting.default or 'empty'}."
    raise KeyError(name)


def _add_network_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        default=None,
        help="Let this network through the private-address guard (repeatable). "
        + _setting_help("allow_networks"),
    )


def _add_detection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--render",
        choices=("auto", "always", "never"),
        default=None,
        help="Run the page's scripts in headless Chromium. " + _setting_help("render"),
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="On a page without audio, list the conventions that were looked for.",
    )
    parser.add_argument("--plugin", default="auto", help="Extractor to use (see 'audiofetch extractors').")
    parser.add_argument(
        "--prefer",
        default="",
        metavar="FORMATS",
        help="Preferred formats when a track has several, e.g. mp3,m4a (default: the page's first).",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(prog="audiofetch", description="Get every audio track on a web page.")
    parser.add_argument("--version", action="version", version=f"audiofetch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    get = commands.add_parser("get", help="download every track of a page")
    get.add_argument("url", help="address of the page (or of a feed, playlist or audio file)")
    get.add_argument("name", nargs="?", help="folder/ZIP name (default: the page title)")
    get.add_argument("--out", default=".", type=Path, help="where to put the folder or ZIP (default: .)")
    get.add_argument("--zip", action="store_true", help="write OUT/NAME.zip instead of a folder")
    get.add_argument("--workers", help=_setting_help("workers"))
    get.add_argument(
        "--no-tags",
        dest="tags",
        action="store_false",
        help="Leave the files exactly as the site sent them (no title, number, album or cover written); "
        "the .m3u8 playlist is still added.",
    )
    _add_detection_options(get)
    _add_network_options(get)

    inspect = commands.add_parser("inspect", help="show what would be downloaded")
    inspect.add_argument("url", help="address of the page")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_detection_options(inspect)
    _add_network_options(inspect)

    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument("--host", help=_setting_help("host"))
    serve.add_argument("--port", help=_setting_help("port"))
    serve.add_argument("--data-dir", help=_setting_help("data_dir"))
    _add_network_options(serve)

    commands.add_parser("extractors", help="list the extractors, in the order they are tried")

    move = commands.add_parser(
        "move-jobs", help="copy a single server's jobs (SQLite) into PostgreSQL, for several nodes"
    )
    move.add_argument("--data-dir", help="the single server's data folder (stop that server first)")
    move.add_argument("--to", dest="database_url", metavar="URL", help=_setting_help("database_url"))
    return parser


def _settings_for(args: argparse.Namespace) -> Settings:
    overrides: dict[str, str | None] = {}
    if getattr(args, "allow_network", None):
        overrides["allow_networks"] = ",".join(args.allow_network)
    for name in ("host", "port", "data_dir", "workers", "render", "database_url"):
        overrides[name] = getattr(args, name, None)
    return load_settings(overrides=overrides)


def _check_page_url(url: str) -> None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not a web address (expected http:// or https://...)")


def _check_plugin(name: str) -> None:
    """An unknown ``--plugin`` is bad input (exit 2), found before any request is made."""
    from audiofetch.extractors import all_extractors, by_name

    if name != "auto" and by_name(name) is None:
        names = ", ".join(["auto", *(e.name for e in all_extractors())])
        raise ConfigError(f"unknown plugin {name!r}; available: {names}")


class _OneLineFormatter(logging.Formatter):
    """``audiofetch: warning: <message>`` on one line; the traceback only when the level is DEBUG."""

    def __init__(self, *, tracebacks: bool) -> None:
        super().__init__("audiofetch: %(levelname)s: %(message)s")
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self._tracebacks:
            return super().format(record)
        return " ".join(f"audiofetch: {record.levelname.lower()}: {record.getMessage()}".split())


def _console_logging(level: str) -> None:
    """Short commands log to stderr in single lines (Python's fallback handler prints tracebacks)."""
    logger = logging.getLogger("audiofetch")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_OneLineFormatter(tracebacks=level == "DEBUG"))
    logger.addHandler(console)
    logger.setLevel(level)
    logger.propagate = False


def _prefer(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(p.strip().lower().lstrip(".") for p in args.prefer.split(",") if p.strip())


def _run_inspect(args: argparse.Namespace, settings: Settings) -> int:
    from audiofetch.cli._commands import inspect_page

    _check_page_url(args.url)
    _check_plugin(args.plugin)
    detection = asyncio.run(inspect_page(settings, args.url, plugin=args.plugin, prefer=_prefer(args)))
    if args.json:
        print(json.dumps(detection_to_json(detection), ensure_ascii=False, indent=2))
        return OK
    print(f"{detection.title or detection.page_url}  [{detection.player}]  {len(detection.tracks)} tracks")
    for track in detection.tracks:
        print(f"{track.index:>3}. {track.title or '(untitled)'}\n     {track.url}")
    for stream in detection.skipped:
        print(f"  skipped: {stream.url} ({stream.reason})")
    for note in detection.notes:
        print(f"  note: {note}")
    return OK


def detection_to_json(detection: object) -> dict[str, object]:
    """The documented ``inspect --json`` shape; keys may be added, never changed."""
    from audiofetch.models import Detection

    assert isinstance(detection, Detection)
    return {
        "url": detection.page_url,
        "title": detection.title,
        "player": detection.player,
        "tracks": [
            {
                "index": t.index,
                "url": t.url,
                "title": t.title,
                "artist": t.artist,
                "album": t.album,
                "alternates": list(t.alternates),
                "extractor": t.extractor,
            }
            for t in detection.tracks
        ],
        "skipped": [{"url": s.url, "reason": s.reason} for s in detection.skipped],
        "notes": list(detection.notes),
    }


def _run_get(args: argparse.Namespace, settings: Settings) -> int:
    from audiofetch.cli._commands import get_page

    _check_page_url(args.url)
    _check_plugin(args.plugin)
    return asyncio.run(
        get_page(
            settings,
            args.url,
            name=args.name,
            out=args.out,
            as_zip=args.zip,
            plugin=args.plugin,
            prefer=_prefer(args),
            interactive=sys.stderr.isatty(),
            tags=args.tags,
        )
    )


def _run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from audiofetch.logs import setup_logging
    from audiofetch.web import serve

    setup_logging(settings.log_level, settings.data_dir)
    serve(settings)
    return OK


def _run_extractors(args: argparse.Namespace, settings: Settings) -> int:
    from audiofetch.extractors import all_extractors

    for extractor in all_extractors():
        print(f"{extractor.name:<14} {extractor.description}")
    return OK


def _run_move_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from audiofetch.cli._move import describe, move_jobs

    report = asyncio.run(move_jobs(settings.data_dir, settings.database_url))
    print(describe(report, settings.database_url))
    return OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "get": _run_get,
    "inspect": _run_inspect,
    "serve": _run_serve,
    "extractors": _run_extractors,
    "move-jobs": _run_move_jobs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings_for(args)
        if args.command != "serve":
            _console_logging(settings.log_level)
        return COMMANDS[args.command](args, settings)
    except AudioFetchError as error:
        if not error.expected:
            log.debug("unexpected error", exc_info=True)
        print(f"audiofetch: {error.user_message}", file=sys.stderr)
        if isinstance(error, NoAudioError) and error.looked_for:
            if getattr(args, "verbose", False):
                print("Looked for:", file=sys.stderr)
                for convention in error.looked_for:
                    print(f"  - {convention}", file=sys.stderr)
            else:
                print("(--verbose lists the conventions that were looked for)", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        print("audiofetch: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:  # a bug: one line for the user, the traceback for the log
        log.debug("internal error", exc_info=True)
        print(f"audiofetch: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return SOME_FAILED
