"""Shared fixtures: one real MQTT broker per test session on a free loopback port."""
from __future__ import annotations

from typing import Iterator

import pytest

from nuki2mqtt.broker import LocalBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """mosquitto where installed, else the pure-Python amqtt broker."""
    with LocalBroker() as local:
        yield local
