"""Fixtures for the bridge client tests."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.bridge.canned_server import CannedServer


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer().start()
    try:
        yield server
    finally:
        server.stop()
