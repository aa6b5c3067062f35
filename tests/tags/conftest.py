from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tags.tag_media import encode_all, missing_tools

APT_PACKAGES = "lame flac vorbis-tools opus-tools"


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every format encoded once per session; tests work on copies (see ``media``)."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"missing encoders {missing}: apt-get install {APT_PACKAGES}")
    return encode_all(tmp_path_factory.mktemp("encoded"))


@pytest.fixture
def media(encoded: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """Fresh copies of the untagged files, named like AudioFetch names them."""
    copies = {}
    for ext, source in encoded.items():
        target = tmp_path / f"03 - Song.{ext}"
        shutil.copyfile(source, target)
        copies[ext] = target
    return copies
