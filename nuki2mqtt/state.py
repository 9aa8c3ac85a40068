"""Mapping of Bridge API readings onto the contract's JSON state (pure, no I/O).

A reading is merged onto the previous state: callbacks and /list entries leave out
fields a firmware does not send, and a missing field must not flap a Home Assistant
entity between a value and null. A field no source ever reported stays null.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from nuki2mqtt.bridge.models import DeviceState
from nuki2mqtt.const import DeviceType, DoorSensorState, LockState, Mode, OpenerState

#: Fields that say when and how a reading came, not what the device is.
VOLATILE_FIELDS = frozenset({"timestamp", "source"})

STATE_FIELDS = (
    "id", "nuki_id", "device_type", "name", "mode", "state", "state_id",
    "battery_critical", "battery_charging", "battery_charge", "keypad_battery_critical",
    "door_sensor", "door_sensor_id", "ring_action", "ring_action_timestamp", "timestamp", "source",
)


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def state_name(device_type: str, state_id: int | None) -> str | None:
    """The contract's state name; numbers the document does not list read ``undefined``."""
    if state_id is None:
        return None
    enum = OpenerState if device_type == DeviceType.OPENER.label else LockState
    return enum.label_of(state_id) or "undefined"


def door_sensor_name(door_id: int | None) -> str | None:
    """``None`` where the device has no door sensor (absent, or the Web API's 0)."""
    if door_id is None or door_id == DoorSensorState.UNAVAILABLE:
        return None
    return DoorSensorState.label_of(door_id) or "unknown"


def empty_state(device_id: str, nuki_id: int, device_type: str, name: str) -> dict[str, Any]:
    state: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
    state.update(id=device_id, nuki_id=nuki_id, device_type=device_type, name=name)
    return state


def merge_bridge_state(
    previous: Mapping[str, Any],
    reading: DeviceState,
    *,
    source: str,
    now_iso: str | None = None,
) -> dict[str, Any]:
    """``previous`` updated with every field ``reading`` reports."""
    state = dict(previous)
    device_type = str(state["device_type"])
    if reading.mode is not None:
        state["mode"] = reading.mode
    if reading.state is not None:
        state["state_id"] = reading.state
        state["state"] = state_name(device_type, reading.state)
    updates = {
        "battery_critical": reading.battery_critical,
        "battery_charging": reading.battery_charging,
        "battery_charge": reading.battery_charge_state,
        "keypad_battery_critical": reading.keypad_battery_critical,
        "ring_action": reading.ringaction_state,
        "ring_action_timestamp": reading.ringaction_timestamp,
    }
    state.update({k: v for k, v in updates.items() if v is not None})
    if reading.doorsensor_state is not None:
        state["door_sensor_id"] = reading.doorsensor_state
        state["door_sensor"] = door_sensor_name(reading.doorsensor_state)
    state["timestamp"] = reading.timestamp or now_iso or utc_now_iso()
    state["source"] = source
    return state


def changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """True when anything but ``timestamp``/``source`` differs: only then is it republished."""
    if old is None:
        return True
    keys = (set(old) | set(new)) - VOLATILE_FIELDS
    return any(old.get(k) != new.get(k) for k in keys)


def rang(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """An opener's ring: ``ring_action`` false -> true (or a new ring timestamp while true)."""
    if new.get("ring_action") is not True:
        return False
    if old is None:
        return False  # a ring already in progress at start-up is not a new ring
    if old.get("ring_action") is not True:
        return True
    return old.get("ring_action_timestamp") != new.get("ring_action_timestamp")


def is_continuous_mode(state: Mapping[str, Any]) -> bool:
    return state.get("mode") == Mode.CONTINUOUS_MODE
