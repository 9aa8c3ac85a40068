"""Bridge readings -> the contract's JSON state."""
from __future__ import annotations

from nuki2mqtt.bridge.models import DeviceState
from nuki2mqtt.state import changed, empty_state, merge_bridge_state, rang, state_name

LIST_STATE = {
    "mode": 2, "state": 1, "stateName": "locked", "batteryCritical": False, "batteryCharging": False,
    "batteryChargeState": 85, "keypadBatteryCritical": False, "doorsensorState": 2,
    "doorsensorStateName": "door closed", "timestamp": "2018-10-03T06:49:00+00:00",
}


def test_contract_example_state() -> None:
    base = empty_state("1A2B3C4D", 439041101, "smartlock", "Front door")
    state = merge_bridge_state(base, DeviceState.from_json(LIST_STATE), source="callback")
    assert state == {
        "id": "1A2B3C4D", "nuki_id": 439041101, "device_type": "smartlock", "name": "Front door",
        "mode": 2, "state": "locked", "state_id": 1,
        "battery_critical": False, "battery_charging": False, "battery_charge": 85,
        "keypad_battery_critical": False, "door_sensor": "door_closed", "door_sensor_id": 2,
        "ring_action": None, "ring_action_timestamp": None,
        "timestamp": "2018-10-03T06:49:00+00:00", "source": "callback",
    }


def test_unreported_fields_are_null_and_kept_across_partial_readings() -> None:
    base = empty_state("2B3C4D5E", 1, "smartlock", "Back door")
    first = merge_bridge_state(base, DeviceState.from_json({"state": 1, "batteryChargeState": 60}), source="poll")
    assert first["door_sensor"] is None and first["keypad_battery_critical"] is None
    second = merge_bridge_state(first, DeviceState.from_json({"state": 3}), source="callback")
    assert second["state"] == "unlocked" and second["battery_charge"] == 60
    assert second["timestamp"]  # a callback has no timestamp: the gateway's clock fills it


def test_opener_state_names() -> None:
    assert state_name("opener", 3) == "rto_active"
    assert state_name("opener", 253) == "boot_run"
    assert state_name("smartlock3", 6) == "unlocked_lock_n_go"
    assert state_name("smartlock", 254) == "motor_blocked"
    assert state_name("smartlock", 42) == "undefined"
    assert state_name("smartlock", None) is None


def test_door_sensor_names() -> None:
    base = empty_state("1A2B3C4D", 1, "smartlock3", "x")
    for number, name in [(1, "deactivated"), (3, "door_opened"), (4, "door_state_unknown"), (5, "calibrating"),
                         (16, "uncalibrated"), (240, "removed"), (255, "unknown"), (0, None), (99, "unknown")]:
        state = merge_bridge_state(base, DeviceState(doorsensor_state=number), source="poll")
        assert state["door_sensor"] == name, number


def test_changed_ignores_timestamp_and_source() -> None:
    base = empty_state("1A2B3C4D", 1, "smartlock", "x")
    a = merge_bridge_state(base, DeviceState(state=1, timestamp="t1"), source="poll")
    b = merge_bridge_state(base, DeviceState(state=1, timestamp="t2"), source="callback")
    c = merge_bridge_state(base, DeviceState(state=3, timestamp="t2"), source="callback")
    assert changed(None, a)
    assert not changed(a, b)
    assert changed(b, c)


def test_ring_detection() -> None:
    base = empty_state("3C4D5E6F", 1, "opener", "Community door")
    idle = merge_bridge_state(base, DeviceState(state=1, ringaction_state=False), source="poll")
    ringing = merge_bridge_state(idle, DeviceState(ringaction_state=True, ringaction_timestamp="t1"), source="callback")
    again = merge_bridge_state(ringing, DeviceState(ringaction_state=True, ringaction_timestamp="t2"), source="callback")
    assert rang(idle, ringing)
    assert not rang(ringing, ringing)
    assert rang(ringing, again)
    assert not rang(None, ringing)
    assert not rang(ringing, idle)
