"""Fixtures: a started simulator with short delays, and a callback receiver."""
from __future__ import annotations

from typing import Iterator

import pytest

from nuki2mqtt.simulator import BridgeSimulator
from tests.simulator.helpers import TOKEN, CallbackCollector


@pytest.fixture
def sim() -> Iterator[BridgeSimulator]:
    with BridgeSimulator(token=TOKEN, action_duration=0.02, ring_reset=0.3, auth_window=0.5, reboot_duration=0.2) as s:
        yield s


@pytest.fixture
def collector() -> Iterator[CallbackCollector]:
    c = CallbackCollector()
    yield c
    c.close()
