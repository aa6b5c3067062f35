from __future__ import annotations

import pytest

from tests.dns import TableResolver

MapResolver = TableResolver


@pytest.fixture
def map_resolver() -> type[MapResolver]:
    return MapResolver
