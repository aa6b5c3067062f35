"""Settings: one table (``SETTINGS``) drives defaults, env names, validation, ``--help`` and the docs.

Precedence: explicit overrides (CLI flags) > environment > defaults. Only this module reads
``os.environ``. A bad value raises ``ConfigError`` naming the variable and what is allowed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from audiofetch.errors import ConfigError

__all__ = [
    "RENDER_MODES",
    "SETTINGS",
    "Setting",
    "Settings",
    "WholeRange",
    "load_settings",
    "parse_networks",
    "setting_range",
    "settings_markdown",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
REPO_ROOT = Path(__file__).resolve().parent.parent
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
_ASCII_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_HOST_NAME = re.compile(r"(?:\*\.)?[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\]")


def parse_networks(value: str) -> tuple[Network, ...]:
    """Parse comma-separated CIDRs (``127.0.0.0/8,::1/128``); a bare address is a one-host network."""
    networks: list[Network] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a network in CIDR form such as 192.168.0.0/16") from exc
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class WholeRange:
    """A whole-number setting's parser, which also states its range for the places that check it again
    (the HTTP contract, the download engine): they read it here, via ``setting_range``."""

    low: int
    high: int

    def __call__(self, value: str) -> int:
        text = value.strip()
        if not _ASCII_INT.fullmatch(text):  # int() would also take Unicode digits ("٣", "３")
            raise ValueError(f"{value!r} is not a whole number")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"{number} is outside the allowed range {self}")
        return number

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


def _positive_float(value: str) -> float:
    if not _ASCII_NUMBER.fullmatch(value.strip()):  # float() would take "٣", "inf" and "1e9"
        raise ValueError(f"{value!r} is not a number")
    number = float(value.strip())
    if number <= 0:
        raise ValueError(f"{number} must be greater than zero")
    return number


def _size(value: str) -> int:
    """Bytes, with an optional K/M/G suffix (binary units): ``5M`` is 5 MiB."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    if text and text[-1] in "KMGT":
        factor = 1024 ** ("KMGT".index(text[-1]) + 1)
        text = text[:-1]
    if not _ASCII_NUMBER.fullmatch(text):  # float() would also take Unicode digits and "inf"
        raise ValueError(f"{value!r} is not a size such as 5M or 2G")
    number = int(float(text) * factor)
    if number <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return number


def _text(value: str) -> str:
    return value


def _hosts(value: str) -> tuple[str, ...]:
    """Host names without port, lower case: ``audio.example``, ``*.example`` (any sub-domain), ``[::1]``."""
    hosts: list[str] = []
    for part in value.split(","):
        host = part.strip().lower().rstrip(".")
        if not host:
            continue
        if not _HOST_NAME.fullmatch(host):
            raise ValueError(f"{part.strip()!r} is not a host name such as audio.example or *.example")
        hosts.append(host)
    return tuple(hosts)


def _rate(value: str) -> int:
    """Bytes per second, with an optional K/M suffix; 0 turns the check off."""
    return 0 if value.strip() == "0" else _size(value)


def _origins(value: str) -> tuple[str, ...]:
    origins: list[str] = []
    for part in value.split(","):
        origin = part.strip().rstrip("/")
        if not origin:
            continue
        schemes = ("http://", "https://", "chrome-extension://", "moz-extension://")
        if not origin.startswith(schemes) or origin.count("/") != 2:
            raise ValueError(
                f"{origin!r} is not an origin such as https://app.example or chrome-extension://ID"
            )
        origins.append(origin.lower())
    return tuple(origins)


def _notify_url(value: str) -> str:
    """An http(s) address for the end-of-job webhook (empty: none)."""
    url = value.strip()
    if url and (not url.lower().startswith(("http://", "https://")) or len(url) > 2048 or " " in url):
        raise ValueError(f"{value!r} is not a web address such as https://hooks.example/audiofetch")
    return url


def _base_path(value: str) -> str:
    """A URL path prefix such as ``/audiofetch`` (empty: served at the root)."""
    path = value.strip()
    if not path:
        return ""
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(
            f"{value!r} must start with / and not end with one, such as /audiofetch (empty for the root)"
        )
    for segment in path[1:].split("/"):
        if segment in ("", ".", "..") or not _PATH_SEGMENT.fullmatch(segment):
            raise ValueError(
                f"{value!r} is not a plain path such as /audiofetch "
                "(letters, digits and - . _ ~ between single slashes, no . or .. segments)"
            )
    return path


RENDER_MODES = ("auto", "always", "never")


def _render_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in RENDER_MODES:
        raise ValueError(f"{value!r} is not one of {', '.join(RENDER_MODES)}")
    return mode


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("a path may not be empty")
    return Path(value).expanduser()


def _database_url(value: str) -> str:
    url = value.strip()
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be empty (the SQLite store) or a postgresql:// address")
    return url


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(f"{value!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return level


@dataclass(frozen=True, slots=True)
class Setting:
    """One configurable value: its field, environment variable, parser, default and help text."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: str
    help: str


_WORKERS = WholeRange(1, 20)
SETTINGS: tuple[Setting, ...] = (
    Setting("host", "HOST", _text, "127.0.0.1", "Address the server listens on."),
    Setting("port", "PORT", WholeRange(1, 65535), "8080", "Port the server listens on."),
    Setting(
        "data_dir",
        "AUDIOFETCH_DATA_DIR",
        _path,
        "./data",
        "Folder for the SQLite job store, the log file and server-mode downloads/.",
    ),
    Setting(
        "admin_password",
        "ADMIN_PASSWORD",
        _text,
        "",
        "Admin password. Unset: one is generated at first start, printed once, and only its hash kept.",
    ),
    Setting(
        "secret_key",
        "SECRET_KEY",
        _text,
        "",
        "Key for session cookies and tokens. Unset: generated once and kept 0600 in the data folder.",
    ),
    Setting(
        "access_token_expire_minutes",
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        WholeRange(1, 525600),
        "1440",
        "Lifetime of admin sessions and bearer tokens, in minutes.",
    ),
    Setting("workers", "AUDIOFETCH_WORKERS", _WORKERS, "5", f"Parallel downloads per job ({_WORKERS})."),
    Setting(
        "allow_networks",
        "AUDIOFETCH_ALLOW_NETWORKS",
        parse_networks,
        "",
        "Comma-separated CIDRs that may be fetched although private or loopback "
        "(e.g. 127.0.0.0/8,192.168.0.0/16). Empty: only public addresses.",
    ),
    Setting(
        "max_page_bytes",
        "AUDIOFETCH_MAX_PAGE_BYTES",
        _size,
        "5M",
        "Largest page, script or playlist read for detection.",
    ),
    Setting("max_file_bytes", "AUDIOFETCH_MAX_FILE_BYTES", _size, "2G", "Largest single track."),
    Setting("max_job_bytes", "AUDIOFETCH_MAX_JOB_BYTES", _size, "20G", "Largest total of one job."),
    Setting(
        "connect_timeout",
        "AUDIOFETCH_CONNECT_TIMEOUT",
        _positive_float,
        "10",
        "Seconds to wait for a connection.",
    ),
    Setting(
        "read_timeout",
        "AUDIOFETCH_READ_TIMEOUT",
        _positive_float,
        "30",
        "Seconds without a single byte before a transfer is given up.",
    ),
    Setting(
        "file_deadline",
        "AUDIOFETCH_FILE_DEADLINE",
        _positive_float,
        "3600",
        "Seconds one track may take in all, retries included.",
    ),
    Setting(
        "page_deadline",
        "AUDIOFETCH_PAGE_DEADLINE",
        _positive_float,
        "60",
        "Seconds a page, script or playlist may take to arrive in all (a server dripping bytes stops here).",
    ),
    Setting(
        "min_free_bytes",
        "AUDIOFETCH_MIN_FREE_BYTES",
        _size,
        "100M",
        "Free disk space kept in reserve: below it tracks are refused and files already saved stay intact.",
    ),
    Setting(
        "retries",
        "AUDIOFETCH_RETRIES",
        WholeRange(0, 20),
        "4",
        "Retries per track after a connection error, a cut-off transfer, 5xx or 429.",
    ),
    Setting("log_level", "AUDIOFETCH_LOG_LEVEL", _log_level, "INFO", "Console log level."),
    Setting(
        "max_running_jobs",
        "AUDIOFETCH_MAX_RUNNING_JOBS",
        WholeRange(1, 100),
        "3",
        "Server-mode jobs downloading at the same time; later ones wait their turn.",
    ),
    Setting(
        "max_active_jobs",
        "AUDIOFETCH_MAX_ACTIVE_JOBS",
        WholeRange(1, 10000),
        "50",
        "Jobs queued or running in all; past it new jobs get 429 with Retry-After.",
    ),
    Setting(
        "max_jobs_per_client",
        "AUDIOFETCH_MAX_JOBS_PER_CLIENT",
        WholeRange(1, 1000),
        "5",
        "Jobs queued or running for one client (browser session or token).",
    ),
    Setting(
        "max_jobs_per_address",
        "AUDIOFETCH_MAX_JOBS_PER_ADDRESS",
        WholeRange(1, 10000),
        "20",
        "Jobs queued or running from one network address (bounds clients that drop their cookie; "
        "higher than the per-client limit for users behind one NAT).",
    ),
    Setting(
        "ready_timeout",
        "AUDIOFETCH_READY_TIMEOUT",
        _positive_float,
        "900",
        "Seconds a browser-mode job waits for its ZIP to be opened before it is given up.",
    ),
    Setting(
        "cors_origins",
        "AUDIOFETCH_CORS_ORIGINS",
        _origins,
        "",
        "Comma-separated origins (https://app.example) allowed to call the API from their pages. "
        "Empty: same-origin only.",
    ),
    Setting(
        "base_path",
        "AUDIOFETCH_BASE_PATH",
        _base_path,
        "",
        "URL path the app is served under behind a reverse proxy (e.g. /audiofetch): every link, form, "
        "API route, WebSocket, event stream and the cookie carry it. Empty: the root. See docs/deploy.md.",
    ),
    Setting(
        "notify_url",
        "AUDIOFETCH_NOTIFY_URL",
        _notify_url,
        "",
        "Webhook for server-mode jobs: when one ends, the job's JSON is POSTed here. The address guard "
        "applies (private and loopback addresses are refused unless in AUDIOFETCH_ALLOW_NETWORKS). "
        "Empty: no webhook.",
    ),
    Setting(
        "render",
        "AUDIOFETCH_RENDER",
        _render_mode,
        "auto",
        "Run the page's scripts in headless Chromium (the render pass): auto (when static reading finds "
        "nothing or players it cannot resolve), always (both passes, merged) or never. Needs the Python "
        "package playwright and Debian's chromium; every browser request goes through the address guard.",
    ),
    Setting(
        "render_concurrency",
        "AUDIOFETCH_RENDER_CONCURRENCY",
        WholeRange(1, 16),
        "2",
        "Pages the render pass runs at once (1-16); each takes a browser context and at most 15 s.",
    ),
    Setting(
        "trusted_proxies",
        "AUDIOFETCH_TRUSTED_PROXIES",
        parse_networks,
        "",
        "Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For, -Proto and -Host "
        "headers are believed (client address, https, host name). Empty: never believed.",
    ),
    Setting(
        "allowed_hosts",
        "AUDIOFETCH_ALLOWED_HOSTS",
        _hosts,
        "",
        "Comma-separated names the server answers to in the Host header (audio.example, *.example); "
        "others get 421 (DNS rebinding). Empty: localhost, the HOST address (any IP address when HOST "
        "is 0.0.0.0 or ::) and, from a trusted proxy, the host it forwards.",
    ),
    Setting(
        "connections_per_client",
        "AUDIOFETCH_CONNECTIONS_PER_CLIENT",
        WholeRange(1, 1000),
        "24",
        "Outgoing connections one client's jobs and previews may hold at once (of 100 in all).",
    ),
    Setting(
        "connections_per_job",
        "AUDIOFETCH_CONNECTIONS_PER_JOB",
        WholeRange(1, 1000),
        "12",
        "Outgoing connections one job may hold at once.",
    ),
    Setting(
        "connection_wait",
        "AUDIOFETCH_CONNECTION_WAIT",
        _positive_float,
        "20",
        "Seconds a request waits for a free outgoing connection before it fails (a track is retried).",
    ),
    Setting(
        "probe_deadline",
        "AUDIOFETCH_PROBE_DEADLINE",
        _positive_float,
        "120",
        "Seconds the format and size probe of a browser-mode job may take in all; tracks not probed "
        "by then are left out.",
    ),
    Setting(
        "min_rate",
        "AUDIOFETCH_MIN_RATE",
        _rate,
        "1K",
        "Slowest transfer kept (bytes per second, averaged over AUDIOFETCH_MIN_RATE_WINDOW): a slower "
        "track is dropped and retried later. 0: no floor.",
    ),
    Setting(
        "min_rate_window",
        "AUDIOFETCH_MIN_RATE_WINDOW",
        _positive_float,
        "60",
        "Seconds over which the transfer rate is averaged for AUDIOFETCH_MIN_RATE.",
    ),
    Setting(
        "spool_lookahead",
        "AUDIOFETCH_SPOOL_LOOKAHEAD",
        _size,
        "64M",
        "Bytes a browser-mode ZIP may download ahead of what the browser has read (at least two tracks "
        "are always allowed); past it downloads pause until the browser catches up.",
    ),
    Setting(
        "database_url",
        "AUDIOFETCH_DATABASE_URL",
        _database_url,
        "",
        "Job store. Empty: the embedded SQLite file in the data folder (one server). "
        "postgresql://user:password@host/db: a PostgreSQL store shared by several AudioFetch nodes, "
        "which then share events, limits, logins and server-mode work; see docs/deploy.md.",
    ),
    Setting(
        "lease_seconds",
        "AUDIOFETCH_LEASE_SECONDS",
        _positive_float,
        "30",
        "With PostgreSQL: how long a node's hold on a job lasts unless renewed; a job of a node silent "
        "for longer is taken over (resumed) by another node.",
    ),
    Setting(
        "node_name",
        "AUDIOFETCH_NODE_NAME",
        _text,
        "",
        "With PostgreSQL: this node's name in job leases and its spool folder. Empty: host name and "
        "process id.",
    ),
    Setting(
        "slow_reader_timeout",
        "AUDIOFETCH_SLOW_READER_TIMEOUT",
        _positive_float,
        "600",
        "Seconds downloads may stay paused for a browser that reads its ZIP too slowly; then the ZIP "
        "ends with an error and the job fails.",
    ),
)


def _setting(name: str) -> Setting:
    return next(setting for setting in SETTINGS if setting.name == name)


def _default(name: str) -> Any:
    """The parsed default of ``SETTINGS``' entry ``name``: ``Settings()`` states none of its own."""
    setting = _setting(name)
    return setting.parse(setting.default)


def setting_range(name: str) -> WholeRange:
    """The allowed range of the whole-number setting ``name`` (``workers``: 1-20), from ``SETTINGS``."""
    parse = _setting(name).parse
    if not isinstance(parse, WholeRange):
        raise TypeError(f"setting {name!r} is not a whole number")
    return parse


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration, built once at start and passed explicitly; defaults from ``SETTINGS``."""

    host: str = _default("host")
    port: int = _default("port")
    data_dir: Path = _default("data_dir")  # noqa: RUF009 (a Path is immutable)
    admin_password: str = _default("admin_password")
    secret_key: str = _default("secret_key")
    access_token_expire_minutes: int = _default("access_token_expire_minutes")
    workers: int = _default("workers")
    allow_networks: tuple[Network, ...] = _default("allow_networks")
    max_page_bytes: int = _default("max_page_bytes")
    max_file_bytes: int = _default("max_file_bytes")
    max_job_bytes: int = _default("max_job_bytes")
    connect_timeout: float = _default("connect_timeout")
    read_timeout: float = _default("read_timeout")
    file_deadline: float = _default("file_deadline")
    page_deadline: float = _default("page_deadline")
    min_free_bytes: int = _default("min_free_bytes")
    retries: int = _default("retries")
    log_level: str = _default("log_level")
    max_running_jobs: int = _default("max_running_jobs")
    max_active_jobs: int = _default("max_active_jobs")
    max_jobs_per_client: int = _default("max_jobs_per_client")
    max_jobs_per_address: int = _default("max_jobs_per_address")
    ready_timeout: float = _default("ready_timeout")
    cors_origins: tuple[str, ...] = _default("cors_origins")
    base_path: str = _default("base_path")
    notify_url: str = _default("notify_url")
    trusted_proxies: tuple[Network, ...] = _default("trusted_proxies")
    allowed_hosts: tuple[str, ...] = _default("allowed_hosts")
    connections_per_client: int = _default("connections_per_client")
    connections_per_job: int = _default("connections_per_job")
    connection_wait: float = _default("connection_wait")
    probe_deadline: float = _default("probe_deadline")
    min_rate: int = _default("min_rate")
    min_rate_window: float = _default("min_rate_window")
    spool_lookahead: int = _default("spool_lookahead")
    slow_reader_timeout: float = _default("slow_reader_timeout")
    database_url: str = _default("database_url")
    lease_seconds: float = _default("lease_seconds")
    node_name: str = _default("node_name")
    render: str = _default("render")
    render_concurrency: int = _default("render_concurrency")
    templates_dir: Path = REPO_ROOT / "templates"
    static_dir: Path = REPO_ROOT / "static"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some fields replaced (already typed values)."""
        return replace(self, **overrides)


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> Settings:
    """Build ``Settings`` from the environment and string overrides (CLI flags; None means not given).

    Raises ``ConfigError`` naming the variable and the problem when a value is unusable.
    """
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        source = setting.env
        raw = env.get(setting.env)
        if setting.name in given:
            raw, source = given[setting.name], f"--{setting.name.replace('_', '-')}"
        if raw is None or (raw == "" and setting.default != ""):
            raw = setting.default
            source = f"default of {setting.env}"
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
    unknown = sorted(set(given) - {s.name for s in SETTINGS})
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    return Settings(**values)


def settings_markdown() -> str:
    """The settings table as Markdown, the source of ``docs/configuration.md``'s table."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default else "(empty)"
        lines.append(f"| `{setting.env}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"
