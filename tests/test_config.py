"""Settings: defaults, environment, overrides and clear errors on bad values."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from audiofetch.config import SETTINGS, Settings, load_settings, parse_networks
from audiofetch.errors import ConfigError


def test_defaults_match_the_settings_table() -> None:
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.workers == 5
    assert settings.data_dir == Path("./data")
    assert settings.access_token_expire_minutes == 1440
    assert settings.allow_networks == ()
    assert settings.max_page_bytes == 5 * 1024 * 1024


def test_table_defaults_equal_dataclass_defaults() -> None:
    from_table = load_settings(environ={})
    plain = Settings()
    for setting in SETTINGS:
        assert getattr(from_table, setting.name) == getattr(plain, setting.name), setting.name


def test_environment_is_read_and_overrides_win() -> None:
    env = {"PORT": "9000", "AUDIOFETCH_WORKERS": "7", "AUDIOFETCH_ALLOW_NETWORKS": "127.0.0.0/8, ::1"}
    settings = load_settings(environ=env, overrides={"port": "9100", "workers": None})
    assert settings.port == 9100
    assert settings.workers == 7
    assert settings.allow_networks == (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AUDIOFETCH_WORKERS": "0"}, "AUDIOFETCH_WORKERS: 0 is outside the allowed range 1-20"),
        ({"AUDIOFETCH_WORKERS": "21"}, "outside the allowed range 1-20"),
        ({"AUDIOFETCH_WORKERS": "five"}, "'five' is not a whole number"),
        ({"PORT": "70000"}, "PORT"),
        ({"AUDIOFETCH_ALLOW_NETWORKS": "10.0.0.0/33"}, "not a network in CIDR form"),
        ({"AUDIOFETCH_MAX_PAGE_BYTES": "lots"}, "not a size"),
        ({"AUDIOFETCH_LOG_LEVEL": "LOUD"}, "not one of"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert fragment in caught.value.user_message


def test_cli_flag_errors_name_the_flag() -> None:
    with pytest.raises(ConfigError, match="--workers"):
        load_settings(environ={}, overrides={"workers": "99"})


def test_sizes_accept_binary_suffixes() -> None:
    settings = load_settings(environ={"AUDIOFETCH_MAX_FILE_BYTES": "3G", "AUDIOFETCH_MAX_PAGE_BYTES": "512K"})
    assert settings.max_file_bytes == 3 * 1024**3
    assert settings.max_page_bytes == 512 * 1024


def test_parse_networks_accepts_bare_addresses() -> None:
    assert parse_networks("127.0.0.1") == (ipaddress.ip_network("127.0.0.1/32"),)
