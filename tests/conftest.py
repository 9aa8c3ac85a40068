"""Shared fixtures: one real MQTT broker per test session on a free loopback port.

``NUKI2MQTT_TEST_BROKER`` picks it: ``auto`` (default: mosquitto where installed, else amqtt),
``amqtt`` or ``mosquitto``. Tests marked ``mqtt5`` are skipped on amqtt, which speaks MQTT 3.1.1 only.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterator

import pytest

from nuki2mqtt.broker import LocalBroker, free_port
from tests.mqtt_recorder import MqttRecorder, broker_preference

MQTT5_SKIP_REASON = "needs an MQTT 5 broker: amqtt speaks 3.1.1 only (apt-get install mosquitto)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mqtt5: tests an MQTT 5 feature; skipped when the test broker is amqtt")


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """mosquitto where installed, else the pure-Python amqtt broker (NUKI2MQTT_TEST_BROKER overrides)."""
    with LocalBroker(prefer=broker_preference()) as local:
        yield local


@pytest.fixture(autouse=True)
def _skip_mqtt5_on_amqtt(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("mqtt5") and request.getfixturevalue("broker").protocol != "5":
        pytest.skip(MQTT5_SKIP_REASON)


@pytest.fixture
def recorder(broker: LocalBroker) -> Iterator[MqttRecorder]:
    """A test MQTT client on the session broker, speaking the MQTT version the broker supports."""
    client = MqttRecorder.on(broker)
    yield client
    client.close()


@pytest.fixture
def base_topic() -> str:
    """A base topic of its own per test: retained messages of one test never leak into another."""
    return f"n2m_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def simulator() -> Iterator[Any]:
    from nuki2mqtt.simulator import BridgeSimulator

    with BridgeSimulator(host="127.0.0.1", port=0, token="testtoken123456", action_duration=0.02) as sim:
        yield sim


GatewayFactory = Callable[..., Any]


@pytest.fixture
def make_gateway(broker: LocalBroker, base_topic: str) -> Iterator[GatewayFactory]:
    """Builds, starts and finally stops a gateway for the given simulators."""
    from nuki2mqtt.config import parse_config
    from nuki2mqtt.gateway import Gateway

    started: list[Any] = []

    def factory(*sims: Any, bridge: dict[str, Any] | None = None, start: bool = True, **sections: Any) -> Any:
        raw: dict[str, Any] = {
            "mqtt": {"host": broker.host, "port": broker.port, "base_topic": base_topic,
                     "client_id": f"gw-{base_topic}",
                     # no fallback wait on amqtt; tests/test_mqtt.py tests that fallback itself
                     "protocol": broker.protocol},
            "homeassistant": {"enabled": False},
            "bridges": [
                {"host": sim.host, "port": sim.port, "token": sim.token, "token_mode": "encrypted",
                 "poll_interval": 0, **(bridge or {})}
                for sim in sims
            ],
            "server": {"host": "127.0.0.1", "port": free_port()},
        }
        for key, value in sections.items():
            raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
        gateway = Gateway(parse_config(raw, env={}))
        if start:
            gateway.start()
            started.append(gateway)
            assert gateway.wait_ready(15), "the gateway did not get ready"
        return gateway

    yield factory
    for gateway in started:
        gateway.stop()
