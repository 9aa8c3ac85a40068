"""Home Assistant discovery on a real broker: publish, follow changes, birth, stale clean-up."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from nuki2mqtt.const import DoorSensorState

FRONT = "1A2B3C4D"
FRONT_ID = 0x1A2B3C4D


@pytest.fixture
def prefix(base_topic: str) -> str:
    return f"{base_topic}_ha"


def ha_section(prefix: str, enabled: bool = True) -> dict[str, Any]:
    return {"enabled": enabled, "discovery_prefix": prefix, "status_topic": f"{prefix}/status"}


@pytest.fixture
def discovered(simulator: Any, make_gateway: Any, recorder: Any, base_topic: str, prefix: str) -> Any:
    """A gateway with discovery on, once the Front door's lock config is out; the recorder hears both trees."""
    recorder.subscribe(f"{prefix}/#")
    recorder.subscribe(f"{base_topic}/#")
    gateway = make_gateway(simulator, homeassistant=ha_section(prefix))
    recorder.wait_for(f"{prefix}/lock/nuki_{FRONT}/lock/config")
    return gateway


def configs(recorder: Any, prefix: str) -> dict[str, Any]:
    """The latest payload per discovery topic (None when cleared)."""
    latest: dict[str, Any] = {}
    for message in recorder.messages(f"{prefix}/+/+/+/config"):
        latest[message.topic] = message.json if message.payload else None
    return latest


def wait_until(check: Any, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_every_device_and_the_bridge_are_discovered(discovered: Any, recorder: Any, simulator: Any,
                                                    base_topic: str, prefix: str) -> None:
    gateway = discovered
    lock_topic = f"{prefix}/lock/nuki_{FRONT}/lock/config"
    expected = {"nuki_1A2B3C4D", "nuki_2B3C4D5E", "nuki_3C4D5E6F", f"nuki_bridge_{gateway.bridges[0].id}"}

    def nodes() -> set[str]:
        return {topic.split("/")[2] for topic, payload in configs(recorder, prefix).items() if payload}

    wait_until(lambda: nodes() == expected)
    found = configs(recorder, prefix)
    lock = found[lock_topic]
    assert lock["command_topic"] == f"{base_topic}/{FRONT}/set"
    assert lock["device"]["via_device"] == f"nuki_bridge_{gateway.bridges[0].id}"
    assert lock["availability_mode"] == "all"
    assert all(recorder.is_retained(m) for m in recorder.messages(f"{prefix}/+/+/+/config"))
    # the door sensor is discovered for the lock that has one, not for the others
    assert any(t.startswith(f"{prefix}/binary_sensor/nuki_{FRONT}/door") for t in found)
    assert not any(t.startswith(f"{prefix}/binary_sensor/nuki_2B3C4D5E/door") for t in found)


def test_command_on_the_discovered_topic_reaches_the_bridge(discovered: Any, recorder: Any, simulator: Any,
                                                            base_topic: str, prefix: str) -> None:
    lock = recorder.wait_for(f"{prefix}/lock/nuki_{FRONT}/lock/config").json
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    recorder.publish(lock["command_topic"], lock["payload_open"])
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "ok" and result["action"] == "unlatch"
    assert [r.params["action"] for r in simulator.requests if r.path == "/lockAction"] == ["3"]


def test_entity_that_no_longer_applies_is_cleared(discovered: Any, recorder: Any, simulator: Any,
                                                  prefix: str) -> None:
    door = f"{prefix}/binary_sensor/nuki_{FRONT}/door/config"
    recorder.wait_for(door)
    simulator.set_door_sensor(FRONT_ID, DoorSensorState.REMOVED)
    cleared = recorder.wait_for(door, lambda m: m.payload == b"")
    assert recorder.is_retained(cleared)
    assert configs(recorder, prefix)[f"{prefix}/lock/nuki_{FRONT}/lock/config"] is not None


def test_birth_message_republishes_configs_then_states(discovered: Any, recorder: Any, simulator: Any,
                                                       base_topic: str, prefix: str) -> None:
    lock_topic = f"{prefix}/lock/nuki_{FRONT}/lock/config"
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    time.sleep(0.3)
    mark = recorder.mark()
    recorder.publish(f"{prefix}/status", "online")
    config_again = recorder.wait_for(lock_topic, after=mark, timeout=6)
    state_again = recorder.wait_for(f"{base_topic}/{FRONT}/state", after=mark, timeout=6)
    assert config_again.at <= state_again.at
    assert recorder.wait_for(f"{base_topic}/{FRONT}/availability", after=mark).text == "online"


def _stale_config(prefix: str, base: str, device: str) -> tuple[str, str]:
    topic = f"{prefix}/sensor/nuki_{device}/battery/config"
    payload = {"name": "Battery", "unique_id": f"nuki_{device}_battery",
               "availability": [{"topic": f"{base}/status"}, {"topic": f"{base}/{device}/availability"}]}
    return topic, json.dumps(payload)


def test_configs_of_a_gone_device_are_cleared_at_start_but_not_foreign_ones(
        simulator: Any, make_gateway: Any, recorder: Any, base_topic: str, prefix: str) -> None:
    ours, ours_payload = _stale_config(prefix, base_topic, "DEADBEEF")
    foreign, foreign_payload = _stale_config(prefix, "someone_else", "CAFEBABE")
    recorder.publish(ours, ours_payload, retain=True)
    recorder.publish(foreign, foreign_payload, retain=True)
    recorder.subscribe(f"{prefix}/#")
    make_gateway(simulator, homeassistant=ha_section(prefix))
    recorder.wait_for(ours, lambda m: m.payload == b"", timeout=8)
    time.sleep(0.3)
    assert configs(recorder, prefix)[foreign] is not None
    assert all(m.payload for m in recorder.messages(foreign))
    recorder.publish(foreign, b"", retain=True)


def test_disabled_publishes_nothing_and_clears_earlier_configs(
        simulator: Any, make_gateway: Any, recorder: Any, base_topic: str, prefix: str) -> None:
    ours, payload = _stale_config(prefix, base_topic, FRONT)
    recorder.publish(ours, payload, retain=True)
    recorder.subscribe(f"{prefix}/#")
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator, homeassistant=ha_section(prefix, enabled=False))
    recorder.wait_for(ours, lambda m: m.payload == b"", timeout=8)
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    time.sleep(0.3)
    published = [m for m in recorder.messages(f"{prefix}/#") if m.payload]
    assert [m.topic for m in published] == [ours]  # only our own test setup message


def test_unpaired_device_disappears_everywhere(discovered: Any, recorder: Any, simulator: Any,
                                               base_topic: str, prefix: str) -> None:
    import requests

    lock_topic = f"{prefix}/lock/nuki_{FRONT}/lock/config"
    answer = requests.get(f"{simulator.url}/unpair", params={"nukiId": FRONT_ID, "deviceType": 4,
                                                             "token": simulator.token}, timeout=5)
    assert answer.ok
    recorder.publish(f"{base_topic}/request/refresh", json.dumps({"transaction": 1}))
    recorder.wait_for(lock_topic, lambda m: m.payload == b"")
    # MQTT 3.1.1 delivers live messages with retain=0: is_retained asks the broker then
    cleared = recorder.wait_for(f"{base_topic}/{FRONT}/state",
                                lambda m: m.payload == b"" and (m.retain or not recorder.is_mqtt5))
    assert recorder.is_retained(cleared)
    recorder.wait_for(f"{base_topic}/{FRONT}/availability", lambda m: m.payload == b"")
    devices = recorder.wait_json(f"{base_topic}/devices", lambda d: len(d) == 2)
    assert FRONT not in {d["id"] for d in devices}
    assert not [t for t, p in configs(recorder, prefix).items() if f"nuki_{FRONT}" in t and p]
