"""Fixtures for the onboarding tests."""
from __future__ import annotations

from typing import Iterator

import pytest

from nuki2mqtt.simulator import BridgeSimulator

TOKEN = "onboardtoken123"


@pytest.fixture
def sim() -> Iterator[BridgeSimulator]:
    with BridgeSimulator(host="127.0.0.1", port=0, token=TOKEN, action_duration=0.01) as bridge:
        yield bridge
