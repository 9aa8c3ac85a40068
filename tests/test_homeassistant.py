"""Home Assistant discovery payloads: exact payloads, presence rules, topics, templates.

Templates are rendered with jinja2's immutable sandbox (what Home Assistant builds
on) and StrictUndefined, so a misspelt state field fails here instead of in HA.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

import nuki2mqtt
from nuki2mqtt.const import DoorSensorState, LockState, OpenerState
from nuki2mqtt.homeassistant import (
    bridge_discovery,
    bridge_node_id,
    device_discovery,
    is_own_discovery_topic,
    node_id,
    origin,
    owned_by,
)

BASE = "nuki2mqtt"
PREFIX = "homeassistant"

# --- fixtures: devices, states, bridges as the gateway publishes them ---------------

SMARTLOCK = {
    "id": "0A0B0C0D", "nuki_id": 168496141, "device_type": "smartlock", "name": "Back door",
    "topic": "back_door", "via": "bridge", "bridge": "2117604523", "firmware": "1.12.4",
}
SMARTLOCK_STATE = {
    "id": "0A0B0C0D", "nuki_id": 168496141, "device_type": "smartlock", "name": "Back door",
    "mode": 2, "state": "locked", "state_id": 1,
    "battery_critical": False, "battery_charging": None, "battery_charge": None,
    "keypad_battery_critical": None, "door_sensor": None, "door_sensor_id": None,
    "ring_action": None, "ring_action_timestamp": None,
    "timestamp": "2024-05-01T10:00:00+00:00", "source": "poll",
}
SMARTLOCK3 = {
    "id": "1A2B3C4D", "nuki_id": 439041101, "device_type": "smartlock3", "name": "Front door",
    "topic": "front_door", "via": "bridge+web", "bridge": "2117604523", "firmware": "4.2.5",
}
SMARTLOCK3_STATE = {
    "id": "1A2B3C4D", "nuki_id": 439041101, "device_type": "smartlock3", "name": "Front door",
    "mode": 2, "state": "unlocked", "state_id": 3,
    "battery_critical": False, "battery_charging": True, "battery_charge": 85,
    "keypad_battery_critical": False, "door_sensor": "door_closed", "door_sensor_id": 2,
    "ring_action": None, "ring_action_timestamp": None,
    "timestamp": "2024-05-01T10:00:00+00:00", "source": "callback",
}
SMARTDOOR = {
    "id": "3B000001", "nuki_id": 989855745, "device_type": "smartdoor", "name": "Office",
    "topic": "office", "via": "web", "bridge": None, "firmware": None,
}
SMARTDOOR_STATE = {
    "id": "3B000001", "nuki_id": 989855745, "device_type": "smartdoor", "name": "Office",
    "mode": 2, "state": "locked", "state_id": 1,
    "battery_critical": False, "battery_charging": None, "battery_charge": 60,
    "keypad_battery_critical": None, "door_sensor": "deactivated", "door_sensor_id": 1,
    "ring_action": None, "ring_action_timestamp": None,
    "timestamp": "2024-05-01T10:00:00+00:00", "source": "web",
}
OPENER = {
    "id": "2C0FFEE0", "nuki_id": 739245792, "device_type": "opener", "name": "Intercom",
    "topic": "intercom", "via": "bridge", "bridge": "2117604523", "firmware": "1.8.1",
}
OPENER_STATE = {
    "id": "2C0FFEE0", "nuki_id": 739245792, "device_type": "opener", "name": "Intercom",
    "mode": 2, "state": "online", "state_id": 1,
    "battery_critical": False, "battery_charging": None, "battery_charge": None,
    "keypad_battery_critical": None, "door_sensor": None, "door_sensor_id": None,
    "ring_action": False, "ring_action_timestamp": None,
    "timestamp": "2024-05-01T10:00:00+00:00", "source": "callback",
}
HW_BRIDGE = {
    "id": "2117604523", "host": "192.168.1.50", "port": 8080, "bridge_type": "hardware",
    "firmware": "2.16.1", "server_connected": True, "reachable": True,
    "last_seen": "2024-05-01T10:00:00+00:00", "uptime": 120,
}
SW_BRIDGE = {
    "id": "3000000001", "host": "192.168.1.60", "port": 8080, "bridge_type": "software",
    "firmware": "3.4.5", "server_connected": False, "reachable": True,
    "last_seen": None, "uptime": None,
}

# --- expected templates, spelt out --------------------------------------------------

LOCK_TEMPLATE = (
    "{{ {'locked': 'LOCKED', 'unlocked': 'UNLOCKED', 'unlocked_lock_n_go': 'UNLOCKED', "
    "'locking': 'LOCKING', 'unlocking': 'UNLOCKING', 'motor_blocked': 'JAMMED', "
    "'unlatched': 'OPEN', 'unlatching': 'OPENING'}.get(value_json.state, 'None') }}"
)
OPENER_TEMPLATE = (
    "{{ 'UNLOCKED' if value_json.mode == 3 and value_json.state == 'online' else "
    "{'untrained': 'LOCKED', 'online': 'LOCKED', 'rto_active': 'UNLOCKED', 'open': 'OPEN', "
    "'opening': 'OPENING'}.get(value_json.state, 'None') }}"
)
CONTINUOUS_TEMPLATE = (
    "{{ 'None' if value_json.mode is none else ('ON' if value_json.mode == 3 else 'OFF') }}"
)
DOOR_TEMPLATE = (
    "{{ {'door_opened': 'ON', 'door_closed': 'OFF'}.get(value_json.door_sensor, 'None') }}"
)
EVENT_TEMPLATE = "{% if value_json.event_type == 'ring' %}{{ value }}{% endif %}"


def bool_template(field: str) -> str:
    return (
        f"{{{{ 'None' if value_json.{field} is none else "
        f"('ON' if value_json.{field} else 'OFF') }}}}"
    )


def value_template(field: str) -> str:
    return f"{{{{ 'None' if value_json.{field} is none else value_json.{field} }}}}"


LOCK_STATES = [
    "uncalibrated", "locked", "unlocking", "unlocked", "locking", "unlatched",
    "unlocked_lock_n_go", "unlatching", "motor_blocked", "undefined",
]
OPENER_STATES = ["untrained", "online", "rto_active", "open", "opening", "boot_run", "undefined"]

ORIGIN = {
    "name": "nuki2mqtt",
    "sw_version": nuki2mqtt.__version__,
    "support_url": "https://github.com/nuki2mqtt/nuki2mqtt",
}


def common(
    name: str | None, uid: str, entity_id: str, device: dict[str, Any], topic: str
) -> dict[str, Any]:
    """The keys every payload of one device shares, spelt out."""
    return {
        "name": name,
        "unique_id": uid,
        "default_entity_id": entity_id,
        "device": device,
        "origin": ORIGIN,
        "availability": [
            {"topic": "nuki2mqtt/status"},
            {"topic": f"nuki2mqtt/{topic}/availability"},
        ],
        "availability_mode": "all",
    }


def discover(device: dict[str, Any], state: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return device_discovery(device, state, base_topic=BASE, discovery_prefix=PREFIX)


def bridges(bridge: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return bridge_discovery(bridge, base_topic=BASE, discovery_prefix=PREFIX)


# --- exact payloads ------------------------------------------------------------------


def lock_family_expected(
    device_id: str, slug: str, topic: str, device_block: dict[str, Any], state_name: str
) -> dict[str, dict[str, Any]]:
    """The fixed lock entities (present without any reading)."""
    node = f"nuki_{device_id}"
    state_topic = f"nuki2mqtt/{topic}/state"
    command_topic = f"nuki2mqtt/{topic}/set"
    return {
        f"homeassistant/lock/{node}/lock/config": {
            **common(None, f"{node}_lock", f"lock.{slug}", device_block, topic),
            "state_topic": state_topic,
            "command_topic": command_topic,
            "payload_lock": "lock",
            "payload_unlock": "unlock",
            "payload_open": "unlatch",
            "value_template": LOCK_TEMPLATE,
        },
        f"homeassistant/button/{node}/lock_n_go/config": {
            **common("Lock 'n' Go", f"{node}_lock_n_go", f"button.{slug}_lock_n_go",
                     device_block, topic),
            "command_topic": command_topic,
            "icon": "mdi:lock-clock",
            "payload_press": "lock_n_go",
        },
        f"homeassistant/button/{node}/lock_n_go_unlatch/config": {
            **common("Lock 'n' Go with unlatch", f"{node}_lock_n_go_unlatch",
                     f"button.{slug}_lock_n_go_unlatch", device_block, topic),
            "command_topic": command_topic,
            "icon": "mdi:lock-clock",
            "payload_press": "lock_n_go_unlatch",
        },
        f"homeassistant/binary_sensor/{node}/battery_critical/config": {
            **common("Battery critical", f"{node}_battery_critical",
                     f"binary_sensor.{slug}_battery_critical", device_block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "battery",
            "value_template": bool_template("battery_critical"),
        },
        f"homeassistant/sensor/{node}/state/config": {
            **common(state_name, f"{node}_state", f"sensor.{slug}_state", device_block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "enum",
            "options": LOCK_STATES,
            "icon": "mdi:state-machine",
            "value_template": value_template("state"),
        },
    }


def battery_expected(device_id: str, slug: str, topic: str, block: dict[str, Any]) -> dict:
    node = f"nuki_{device_id}"
    return {
        f"homeassistant/sensor/{node}/battery/config": {
            **common("Battery", f"{node}_battery", f"sensor.{slug}_battery", block, topic),
            "state_topic": f"nuki2mqtt/{topic}/state",
            "entity_category": "diagnostic",
            "device_class": "battery",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            "value_template": value_template("battery_charge"),
        }
    }


SMARTLOCK_DEVICE_BLOCK = {
    "identifiers": ["nuki_0A0B0C0D"],
    "manufacturer": "Nuki",
    "model": "Smart Lock 1.0/2.0",
    "name": "Back door",
    "sw_version": "1.12.4",
    "via_device": "nuki_bridge_2117604523",
}
SMARTLOCK3_DEVICE_BLOCK = {
    "identifiers": ["nuki_1A2B3C4D"],
    "manufacturer": "Nuki",
    "model": "Smart Lock 3.0/4.0",
    "name": "Front door",
    "sw_version": "4.2.5",
    "via_device": "nuki_bridge_2117604523",
}
SMARTDOOR_DEVICE_BLOCK = {
    "identifiers": ["nuki_3B000001"],
    "manufacturer": "Nuki",
    "model": "Smart Door",
    "name": "Office",
}
OPENER_DEVICE_BLOCK = {
    "identifiers": ["nuki_2C0FFEE0"],
    "manufacturer": "Nuki",
    "model": "Opener",
    "name": "Intercom",
    "sw_version": "1.8.1",
    "via_device": "nuki_bridge_2117604523",
}


def test_smartlock_payloads_exact() -> None:
    expected = lock_family_expected(
        "0A0B0C0D", "back_door", "back_door", SMARTLOCK_DEVICE_BLOCK, "Lock state"
    )
    assert discover(SMARTLOCK, SMARTLOCK_STATE) == expected


def test_smartlock3_with_door_sensor_and_keypad_payloads_exact() -> None:
    node, slug, topic, block = "nuki_1A2B3C4D", "front_door", "front_door", SMARTLOCK3_DEVICE_BLOCK
    state_topic = "nuki2mqtt/front_door/state"
    expected = {
        **lock_family_expected("1A2B3C4D", slug, topic, block, "Lock state"),
        **battery_expected("1A2B3C4D", slug, topic, block),
        f"homeassistant/binary_sensor/{node}/battery_charging/config": {
            **common("Battery charging", f"{node}_battery_charging",
                     "binary_sensor.front_door_battery_charging", block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "battery_charging",
            "value_template": bool_template("battery_charging"),
        },
        f"homeassistant/binary_sensor/{node}/door/config": {
            **common("Door", f"{node}_door", "binary_sensor.front_door_door", block, topic),
            "state_topic": state_topic,
            "device_class": "door",
            "value_template": DOOR_TEMPLATE,
        },
        f"homeassistant/binary_sensor/{node}/keypad_battery_critical/config": {
            **common("Keypad battery critical", f"{node}_keypad_battery_critical",
                     "binary_sensor.front_door_keypad_battery_critical", block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "battery",
            "value_template": bool_template("keypad_battery_critical"),
        },
    }
    assert discover(SMARTLOCK3, SMARTLOCK3_STATE) == expected


def test_smartdoor_payloads_exact() -> None:
    """Web-only: no via_device, no sw_version; deactivated door sensor gives no Door."""
    expected = {
        **lock_family_expected("3B000001", "office", "office", SMARTDOOR_DEVICE_BLOCK, "Lock state"),
        **battery_expected("3B000001", "office", "office", SMARTDOOR_DEVICE_BLOCK),
    }
    assert discover(SMARTDOOR, SMARTDOOR_STATE) == expected


def test_opener_payloads_exact() -> None:
    node, topic, block = "nuki_2C0FFEE0", "intercom", OPENER_DEVICE_BLOCK
    state_topic, command_topic = "nuki2mqtt/intercom/state", "nuki2mqtt/intercom/set"
    expected = {
        f"homeassistant/lock/{node}/ring_to_open/config": {
            **common(None, f"{node}_ring_to_open", "lock.intercom", block, topic),
            "state_topic": state_topic,
            "command_topic": command_topic,
            "payload_lock": "deactivate_rto",
            "payload_unlock": "activate_rto",
            "payload_open": "electric_strike_actuation",
            "value_template": OPENER_TEMPLATE,
        },
        f"homeassistant/switch/{node}/continuous_mode/config": {
            **common("Continuous mode", f"{node}_continuous_mode",
                     "switch.intercom_continuous_mode", block, topic),
            "state_topic": state_topic,
            "command_topic": command_topic,
            "icon": "mdi:bell-ring",
            "payload_on": "activate_continuous_mode",
            "payload_off": "deactivate_continuous_mode",
            "state_on": "ON",
            "state_off": "OFF",
            "value_template": CONTINUOUS_TEMPLATE,
        },
        f"homeassistant/button/{node}/electric_strike/config": {
            **common("Electric strike", f"{node}_electric_strike",
                     "button.intercom_electric_strike", block, topic),
            "command_topic": command_topic,
            "icon": "mdi:door-open",
            "payload_press": "electric_strike_actuation",
        },
        f"homeassistant/event/{node}/doorbell/config": {
            **common("Doorbell", f"{node}_doorbell", "event.intercom_doorbell", block, topic),
            "device_class": "doorbell",
            "event_types": ["ring"],
            "state_topic": "nuki2mqtt/intercom/event",
            "value_template": EVENT_TEMPLATE,
        },
        f"homeassistant/binary_sensor/{node}/battery_critical/config": {
            **common("Battery critical", f"{node}_battery_critical",
                     "binary_sensor.intercom_battery_critical", block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "battery",
            "value_template": bool_template("battery_critical"),
        },
        f"homeassistant/sensor/{node}/state/config": {
            **common("Opener state", f"{node}_state", "sensor.intercom_state", block, topic),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "enum",
            "options": OPENER_STATES,
            "icon": "mdi:state-machine",
            "value_template": value_template("state"),
        },
    }
    assert discover(OPENER, OPENER_STATE) == expected


def bridge_common(name: str, uid: str, entity_id: str, block: dict[str, Any], bid: str) -> dict:
    return {
        "name": name,
        "unique_id": uid,
        "default_entity_id": entity_id,
        "device": block,
        "origin": ORIGIN,
        "availability": [
            {"topic": "nuki2mqtt/status"},
            {"topic": f"nuki2mqtt/bridge_{bid}/availability"},
        ],
        "availability_mode": "all",
    }


def test_hardware_bridge_payloads_exact() -> None:
    node = "nuki_bridge_2117604523"
    block = {
        "identifiers": [node],
        "manufacturer": "Nuki",
        "model": "Bridge",
        "name": "Nuki Bridge 2117604523",
        "sw_version": "2.16.1",
    }
    state_topic = "nuki2mqtt/bridge_2117604523/state"
    expected = {
        f"homeassistant/binary_sensor/{node}/server_connection/config": {
            **bridge_common("Server connection", f"{node}_server_connection",
                            f"binary_sensor.{node}_server_connection", block, "2117604523"),
            "state_topic": state_topic,
            "device_class": "connectivity",
            "value_template": bool_template("server_connected"),
        },
        f"homeassistant/sensor/{node}/firmware/config": {
            **bridge_common("Firmware", f"{node}_firmware", f"sensor.{node}_firmware",
                            block, "2117604523"),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "icon": "mdi:chip",
            "value_template": value_template("firmware"),
        },
        f"homeassistant/sensor/{node}/uptime/config": {
            **bridge_common("Uptime", f"{node}_uptime", f"sensor.{node}_uptime",
                            block, "2117604523"),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "device_class": "duration",
            "unit_of_measurement": "s",
            "value_template": value_template("uptime"),
        },
    }
    assert bridges(HW_BRIDGE) == expected


def test_software_bridge_payloads_exact() -> None:
    """Software bridge model; no uptime reported, so no uptime sensor."""
    node = "nuki_bridge_3000000001"
    block = {
        "identifiers": [node],
        "manufacturer": "Nuki",
        "model": "Software Bridge",
        "name": "Nuki Bridge 3000000001",
        "sw_version": "3.4.5",
    }
    state_topic = "nuki2mqtt/bridge_3000000001/state"
    expected = {
        f"homeassistant/binary_sensor/{node}/server_connection/config": {
            **bridge_common("Server connection", f"{node}_server_connection",
                            f"binary_sensor.{node}_server_connection", block, "3000000001"),
            "state_topic": state_topic,
            "device_class": "connectivity",
            "value_template": bool_template("server_connected"),
        },
        f"homeassistant/sensor/{node}/firmware/config": {
            **bridge_common("Firmware", f"{node}_firmware", f"sensor.{node}_firmware",
                            block, "3000000001"),
            "state_topic": state_topic,
            "entity_category": "diagnostic",
            "icon": "mdi:chip",
            "value_template": value_template("firmware"),
        },
    }
    assert bridges(SW_BRIDGE) == expected


# --- presence rules ------------------------------------------------------------------


def keys_of(device: dict[str, Any], state: dict[str, Any] | None) -> set[str]:
    """component/object of every entity, e.g. ``sensor/battery``."""
    return {"/".join(topic.split("/")[1:4:2]) for topic in discover(device, state)}


FIXED_LOCK = {
    "lock/lock", "button/lock_n_go", "button/lock_n_go_unlatch",
    "binary_sensor/battery_critical", "sensor/state",
}
FIXED_OPENER = {
    "lock/ring_to_open", "switch/continuous_mode", "button/electric_strike",
    "event/doorbell", "binary_sensor/battery_critical", "sensor/state",
}


@pytest.mark.parametrize("device", [SMARTLOCK, SMARTLOCK3, SMARTDOOR])
def test_without_state_only_fixed_lock_entities(device: dict[str, Any]) -> None:
    assert keys_of(device, None) == FIXED_LOCK


def test_without_state_only_fixed_opener_entities() -> None:
    assert keys_of(OPENER, None) == FIXED_OPENER


def test_battery_level_only_with_charge() -> None:
    assert "sensor/battery" not in keys_of(SMARTLOCK3, {**SMARTLOCK3_STATE, "battery_charge": None})
    assert "sensor/battery" in keys_of(SMARTLOCK3, {**SMARTLOCK3_STATE, "battery_charge": 0})


def test_battery_charging_only_when_reported() -> None:
    absent = {**SMARTLOCK3_STATE, "battery_charging": None}
    assert "binary_sensor/battery_charging" not in keys_of(SMARTLOCK3, absent)
    present = {**SMARTLOCK3_STATE, "battery_charging": False}
    assert "binary_sensor/battery_charging" in keys_of(SMARTLOCK3, present)


ACTIVE_DOOR = {"door_closed", "door_opened", "door_state_unknown", "calibrating", "unknown"}


@pytest.mark.parametrize(
    "door_sensor", [s.label for s in DoorSensorState] + [None]
)
def test_door_sensor_only_when_active(door_sensor: str | None) -> None:
    state = {**SMARTLOCK3_STATE, "door_sensor": door_sensor}
    assert ("binary_sensor/door" in keys_of(SMARTLOCK3, state)) == (door_sensor in ACTIVE_DOOR)


def test_no_door_sensor_when_deactivated_removed_or_null() -> None:
    for value in ("deactivated", "removed", "uncalibrated", None):
        state = {**SMARTLOCK3_STATE, "door_sensor": value}
        assert "binary_sensor/door" not in keys_of(SMARTLOCK3, state)


def test_keypad_only_when_reported() -> None:
    absent = {**SMARTLOCK3_STATE, "keypad_battery_critical": None}
    assert "binary_sensor/keypad_battery_critical" not in keys_of(SMARTLOCK3, absent)
    opener = {**OPENER_STATE, "keypad_battery_critical": True}
    assert "binary_sensor/keypad_battery_critical" in keys_of(OPENER, opener)


@pytest.mark.parametrize("device_type", ["box", "smartlock_ultra"])
def test_box_and_ultra_are_locks(device_type: str) -> None:
    device = {**SMARTLOCK, "device_type": device_type}
    payloads = discover(device, None)
    assert keys_of(device, None) == FIXED_LOCK
    model = {"box": "Box", "smartlock_ultra": "Smart Lock Ultra"}[device_type]
    assert {p["device"]["model"] for p in payloads.values()} == {model}


def test_unknown_device_type_is_a_lock_with_raw_model() -> None:
    device = {**SMARTLOCK, "device_type": "smartlock9"}
    payloads = discover(device, None)
    assert keys_of(device, None) == FIXED_LOCK
    assert {p["device"]["model"] for p in payloads.values()} == {"smartlock9"}


def test_topic_left_at_id_and_missing_name() -> None:
    device = {**SMARTLOCK, "topic": "0A0B0C0D", "name": None, "bridge": None, "firmware": None}
    payload = discover(device, None)["homeassistant/lock/nuki_0A0B0C0D/lock/config"]
    assert payload["default_entity_id"] == "lock.nuki_0a0b0c0d"
    assert payload["device"] == {
        "identifiers": ["nuki_0A0B0C0D"], "manufacturer": "Nuki",
        "model": "Smart Lock 1.0/2.0", "name": "0A0B0C0D",
    }
    assert payload["state_topic"] == "nuki2mqtt/0A0B0C0D/state"
    assert payload["availability"][1] == {"topic": "nuki2mqtt/0A0B0C0D/availability"}


def test_inputs_untouched_and_payloads_independent() -> None:
    device, state = copy.deepcopy(SMARTLOCK3), copy.deepcopy(SMARTLOCK3_STATE)
    payloads = discover(device, state)
    assert device == SMARTLOCK3 and state == SMARTLOCK3_STATE
    first, second = list(payloads.values())[:2]
    first["device"]["identifiers"].append("x")
    first["availability"].append({"topic": "x"})
    first["origin"]["name"] = "x"
    assert second["device"]["identifiers"] == ["nuki_1A2B3C4D"]
    assert len(second["availability"]) == 2 and second["origin"] == ORIGIN
    assert discover(SMARTLOCK3, SMARTLOCK3_STATE) == discover(SMARTLOCK3, SMARTLOCK3_STATE)


# --- properties over every payload ---------------------------------------------------

ALL_DEVICES = [
    (SMARTLOCK, SMARTLOCK_STATE),
    (SMARTLOCK3, SMARTLOCK3_STATE),
    (SMARTDOOR, SMARTDOOR_STATE),
    (OPENER, OPENER_STATE),
]


def every_payload() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for device, state in ALL_DEVICES:
        out.update(discover(device, state))
    for bridge in (HW_BRIDGE, SW_BRIDGE):
        out.update(bridges(bridge))
    return out


def test_every_topic_is_own_and_well_formed() -> None:
    for topic, payload in every_payload().items():
        assert topic.startswith(f"{PREFIX}/")
        assert is_own_discovery_topic(topic, PREFIX), topic
        _, component, node, obj, config = topic.split("/")
        assert config == "config" and node.startswith("nuki_")
        assert payload["unique_id"] == f"{node}_{obj}"
        assert payload["default_entity_id"].split(".")[0] == component


def test_unique_ids_unique_across_devices_and_bridges() -> None:
    uids = [p["unique_id"] for p in every_payload().values()]
    assert len(uids) == len(set(uids))
    entity_ids = [p["default_entity_id"] for p in every_payload().values()]
    assert len(entity_ids) == len(set(entity_ids))


ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")


def test_default_entity_ids_are_valid_entity_ids() -> None:
    for payload in every_payload().values():
        assert ENTITY_ID.match(payload["default_entity_id"]), payload["default_entity_id"]


def test_names_never_repeat_the_device_name_and_only_locks_are_main() -> None:
    for topic, payload in every_payload().items():
        component = topic.split("/")[1]
        name = payload["name"]
        if component == "lock":
            assert name is None
            continue
        assert isinstance(name, str) and name
        device_name = payload["device"]["name"].lower()
        assert device_name not in name.lower()
        assert not name.lower().startswith(device_name.split()[0])


def test_availability_on_every_payload() -> None:
    for _topic, payload in every_payload().items():
        assert payload["availability_mode"] == "all"
        topics = [entry["topic"] for entry in payload["availability"]]
        assert topics[0] == "nuki2mqtt/status"
        assert len(topics) == 2 and topics[1].startswith("nuki2mqtt/")
        assert topics[1].endswith("/availability")
        assert owned_by(payload, BASE)
        assert payload["origin"] == ORIGIN
        state_topic = payload.get("state_topic", topics[1].replace("availability", "state"))
        assert state_topic.rsplit("/", 1)[0] == topics[1].rsplit("/", 1)[0]


def test_diagnostic_entities() -> None:
    diagnostic = {
        topic.split("/", 1)[1]
        for topic, payload in every_payload().items()
        if payload.get("entity_category") == "diagnostic"
    }
    assert "sensor/nuki_1A2B3C4D/state/config" in diagnostic
    assert "sensor/nuki_1A2B3C4D/battery/config" in diagnostic
    assert "sensor/nuki_bridge_2117604523/firmware/config" in diagnostic
    assert "sensor/nuki_bridge_2117604523/uptime/config" in diagnostic
    assert "lock/nuki_1A2B3C4D/lock/config" not in diagnostic
    assert "binary_sensor/nuki_1A2B3C4D/door/config" not in diagnostic
    assert {p.get("entity_category") for p in every_payload().values()} <= {None, "diagnostic"}


def test_payloads_are_json() -> None:
    for payload in every_payload().values():
        assert json.loads(json.dumps(payload)) == payload


# --- helpers: node ids, topic matching, ownership -------------------------------------


def test_node_ids() -> None:
    assert node_id("1A2B3C4D") == "nuki_1A2B3C4D"
    assert bridge_node_id("2117604523") == "nuki_bridge_2117604523"
    assert node_id("a/b+c#d e") == "nuki_a_b_c_d_e"


@pytest.mark.parametrize(
    ("topic", "prefix", "expected"),
    [
        ("homeassistant/lock/nuki_1A2B3C4D/lock/config", "homeassistant", True),
        ("homeassistant/sensor/nuki_bridge_1/uptime/config", "homeassistant", True),
        ("ha/x/event/nuki_1/doorbell/config", "ha/x", True),
        ("homeassistant/lock/zigbee_1/lock/config", "homeassistant", False),
        ("homeassistant/lock/nuki_1/lock/state", "homeassistant", False),
        ("homeassistant/lock/nuki_1/lock/config/x", "homeassistant", False),
        ("homeassistant/lock/nuki_1/config", "homeassistant", False),
        ("other/lock/nuki_1/lock/config", "homeassistant", False),
        ("haXx/lock/nuki_1/lock/config", "ha.x", False),
        ("homeassistant/lock/nuki_+/lock/config", "homeassistant", False),
        ("homeassistant/lock/nuki_1/lock/config", "home", False),
    ],
)
def test_is_own_discovery_topic(topic: str, prefix: str, expected: bool) -> None:
    assert is_own_discovery_topic(topic, prefix) is expected


def test_owned_by() -> None:
    payload = discover(SMARTLOCK3, None)["homeassistant/lock/nuki_1A2B3C4D/lock/config"]
    assert owned_by(payload, "nuki2mqtt")
    assert owned_by(payload, "nuki2mqtt/")
    assert not owned_by(payload, "nuki2mqtt2")
    assert not owned_by(payload, "nuki")
    other = device_discovery(SMARTLOCK3, None, base_topic="nuki2mqtt2", discovery_prefix=PREFIX)
    assert not owned_by(next(iter(other.values())), "nuki2mqtt")
    mixed = {"availability": [{"topic": "nuki2mqtt/status"}, {"topic": "elsewhere/x"}]}
    assert not owned_by(mixed, "nuki2mqtt")
    assert not owned_by({"name": "no availability"}, "nuki2mqtt")
    assert not owned_by([], "nuki2mqtt")  # type: ignore[arg-type]
    abbreviated = {"~": "nuki2mqtt", "avty": [{"t": "~/status"}, {"t": "~/x/availability"}]}
    assert owned_by(abbreviated, "nuki2mqtt")
    assert owned_by({"availability_topic": "nuki2mqtt/status"}, "nuki2mqtt")
    assert not owned_by({"avty_t": "other/status"}, "nuki2mqtt")


def test_origin_is_fresh() -> None:
    first = origin()
    first["name"] = "changed"
    assert origin() == ORIGIN


# --- value templates, rendered -----------------------------------------------------

ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined)


def render(template: str, message: dict[str, Any]) -> str:
    raw = json.dumps(message)
    return ENV.from_string(template).render(value=raw, value_json=json.loads(raw))


def payload_of(device: dict[str, Any], component: str, obj: str, state=None) -> dict[str, Any]:
    node = f"nuki_{device['id']}"
    return discover(device, state or SMARTLOCK3_STATE)[f"homeassistant/{component}/{node}/{obj}/config"]


LOCK_EXPECTED = {
    "uncalibrated": "None", "locked": "LOCKED", "unlocking": "UNLOCKING",
    "unlocked": "UNLOCKED", "locking": "LOCKING", "unlatched": "OPEN",
    "unlocked_lock_n_go": "UNLOCKED", "unlatching": "OPENING",
    "motor_blocked": "JAMMED", "undefined": "None", None: "None",
}


@pytest.mark.parametrize("nuki_state", [s.label for s in LockState] + [None])
def test_lock_template_maps_every_nuki_state(nuki_state: str | None) -> None:
    template = payload_of(SMARTLOCK3, "lock", "lock")["value_template"]
    assert render(template, {**SMARTLOCK3_STATE, "state": nuki_state}) == LOCK_EXPECTED[nuki_state]


OPENER_EXPECTED = {
    # (state, mode) -> HA lock state; continuous mode rings anyone in = unlocked
    ("untrained", 2): "LOCKED", ("online", 2): "LOCKED", ("rto_active", 2): "UNLOCKED",
    ("open", 2): "OPEN", ("opening", 2): "OPENING", ("boot_run", 2): "None",
    ("undefined", 2): "None", (None, 2): "None",
    ("online", 3): "UNLOCKED", ("rto_active", 3): "UNLOCKED", ("open", 3): "OPEN",
    ("opening", 3): "OPENING", ("boot_run", 3): "None", (None, None): "None",
}


@pytest.mark.parametrize(("nuki_state", "mode"), list(OPENER_EXPECTED))
def test_opener_template_maps_every_state(nuki_state: str | None, mode: int | None) -> None:
    template = payload_of(OPENER, "lock", "ring_to_open", OPENER_STATE)["value_template"]
    message = {**OPENER_STATE, "state": nuki_state, "mode": mode}
    assert render(template, message) == OPENER_EXPECTED[(nuki_state, mode)]


def test_every_opener_state_is_covered() -> None:
    assert {s.label for s in OpenerState} <= {state for state, _ in OPENER_EXPECTED}


HA_LOCK_STATES = {"LOCKED", "UNLOCKED", "LOCKING", "UNLOCKING", "JAMMED", "OPEN", "OPENING", "None"}


def test_lock_templates_only_produce_ha_lock_states() -> None:
    lock = payload_of(SMARTLOCK3, "lock", "lock")["value_template"]
    rto = payload_of(OPENER, "lock", "ring_to_open", OPENER_STATE)["value_template"]
    seen = {render(lock, {**SMARTLOCK3_STATE, "state": s}) for s in LOCK_STATES + [None]}
    seen |= {
        render(rto, {**OPENER_STATE, "state": s, "mode": m})
        for s in OPENER_STATES + [None] for m in (2, 3, None)
    }
    assert seen <= HA_LOCK_STATES
    assert seen == HA_LOCK_STATES


@pytest.mark.parametrize(("mode", "expected"), [(2, "OFF"), (3, "ON"), (None, "None")])
def test_continuous_mode_template(mode: int | None, expected: str) -> None:
    payload = payload_of(OPENER, "switch", "continuous_mode", OPENER_STATE)
    assert render(payload["value_template"], {**OPENER_STATE, "mode": mode}) == expected
    assert expected in {payload["state_on"], payload["state_off"], "None"}


DOOR_EXPECTED = {"door_opened": "ON", "door_closed": "OFF"}


@pytest.mark.parametrize("door_sensor", [s.label for s in DoorSensorState] + [None])
def test_door_template(door_sensor: str | None) -> None:
    template = payload_of(SMARTLOCK3, "binary_sensor", "door")["value_template"]
    rendered = render(template, {**SMARTLOCK3_STATE, "door_sensor": door_sensor})
    assert rendered == DOOR_EXPECTED.get(door_sensor, "None")


@pytest.mark.parametrize(
    "field", ["battery_critical", "battery_charging", "keypad_battery_critical"]
)
@pytest.mark.parametrize(("value", "expected"), [(True, "ON"), (False, "OFF"), (None, "None")])
def test_boolean_templates(field: str, value: bool | None, expected: str) -> None:
    template = payload_of(SMARTLOCK3, "binary_sensor", field)["value_template"]
    assert render(template, {**SMARTLOCK3_STATE, field: value}) == expected


@pytest.mark.parametrize(("charge", "expected"), [(85, "85"), (0, "0"), (100, "100"), (None, "None")])
def test_battery_template(charge: int | None, expected: str) -> None:
    template = payload_of(SMARTLOCK3, "sensor", "battery")["value_template"]
    assert render(template, {**SMARTLOCK3_STATE, "battery_charge": charge}) == expected


@pytest.mark.parametrize(
    ("device", "state", "states"),
    [(SMARTLOCK3, SMARTLOCK3_STATE, LOCK_STATES), (OPENER, OPENER_STATE, OPENER_STATES)],
)
def test_state_sensor_template_and_options(device, state, states) -> None:
    payload = payload_of(device, "sensor", "state", state)
    assert payload["options"] == states
    for nuki_state in states:
        assert render(payload["value_template"], {**state, "state": nuki_state}) == nuki_state
    assert render(payload["value_template"], {**state, "state": None}) == "None"


def test_event_template_passes_rings_and_drops_logs() -> None:
    template = payload_of(OPENER, "event", "doorbell", OPENER_STATE)["value_template"]
    ring = {"event_type": "ring", "timestamp": "2024-05-01T10:00:00+00:00", "source": "callback"}
    rendered = json.loads(render(template, ring))
    assert rendered["event_type"] == "ring"
    assert rendered["event_type"] in payload_of(OPENER, "event", "doorbell", OPENER_STATE)["event_types"]
    assert rendered == ring
    log = {"event_type": "log", "entry": {"action": 1, "name": "Alice"}}
    assert render(template, log) == ""  # HA ignores an empty rendering without a warning


def test_bridge_templates() -> None:
    payloads = bridges(HW_BRIDGE)
    node = "homeassistant/{}/nuki_bridge_2117604523/{}/config"
    connection = payloads[node.format("binary_sensor", "server_connection")]["value_template"]
    firmware = payloads[node.format("sensor", "firmware")]["value_template"]
    uptime = payloads[node.format("sensor", "uptime")]["value_template"]
    assert render(connection, HW_BRIDGE) == "ON"
    assert render(connection, {**HW_BRIDGE, "server_connected": False}) == "OFF"
    assert render(connection, {**HW_BRIDGE, "server_connected": None}) == "None"
    assert render(firmware, HW_BRIDGE) == "2.16.1"
    assert render(firmware, {**HW_BRIDGE, "firmware": None}) == "None"
    assert render(uptime, HW_BRIDGE) == "120"
    assert render(uptime, {**HW_BRIDGE, "uptime": None}) == "None"


def test_every_state_template_renders_on_the_state_it_reads() -> None:
    """Sweep: no template of any entity fails on the JSON of its own state topic."""
    messages = {
        "nuki2mqtt/back_door/state": SMARTLOCK_STATE,
        "nuki2mqtt/front_door/state": SMARTLOCK3_STATE,
        "nuki2mqtt/office/state": SMARTDOOR_STATE,
        "nuki2mqtt/intercom/state": OPENER_STATE,
        "nuki2mqtt/intercom/event": {"event_type": "ring"},
        "nuki2mqtt/bridge_2117604523/state": HW_BRIDGE,
        "nuki2mqtt/bridge_3000000001/state": SW_BRIDGE,
    }
    rendered = 0
    for payload in every_payload().values():
        if "value_template" in payload:
            render(payload["value_template"], messages[payload["state_topic"]])
            rendered += 1
    assert rendered == sum("state_topic" in p for p in every_payload().values())
