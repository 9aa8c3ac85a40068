"""Simulated devices: the default set, JSON shapes, action steps and the devices file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuki2mqtt.const import DeviceType, DoorSensorState, LockAction, LockState, Mode, OpenerAction, OpenerState
from nuki2mqtt.simulator import DeviceFileError, SimDevice, default_devices, load_devices
from nuki2mqtt.simulator.devices import (
    action_steps,
    callback_json,
    list_entry,
    lock_state_json,
    ring_steps,
    simple_action_steps,
    state_name,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "simulator" / "devices.example.yaml"


def test_default_devices_are_the_fixed_set() -> None:
    front, back, opener = default_devices()
    assert (front.nuki_id, front.device_type, front.name) == (439041101, DeviceType.SMARTLOCK3, "Front door")
    assert front.nuki_id == 0x1A2B3C4D
    assert (front.door_sensor, front.has_keypad, front.battery_charge, front.battery_charging) == (2, True, 85, False)
    assert (front.state, front.mode, front.firmware_version, front.model) == (1, 2, "4.2.5", "Smart Lock 3.0 Pro")
    assert (back.nuki_id, back.device_type, back.name) == (0x2B3C4D5E, DeviceType.SMARTLOCK, "Back door")
    assert (back.door_sensor, back.has_keypad, back.battery_charge, back.state) == (None, False, 60, 1)
    assert back.firmware_version == "2.14.3"
    assert (opener.nuki_id, opener.device_type, opener.name) == (0x3C4D5E6F, DeviceType.OPENER, "Community door")
    assert (opener.state, opener.mode, opener.ring_action_state, opener.firmware_version) == (1, 2, False, "1.9.3")


def test_default_devices_are_fresh_copies() -> None:
    first = default_devices()
    first[0].state = LockState.UNLOCKED
    assert default_devices()[0].state == LockState.LOCKED


def test_fields_only_where_the_device_has_them() -> None:
    front, back, opener = default_devices()
    front_state = list_entry(front, 0.0)["lastKnownState"]
    assert front_state == {
        "mode": 2,
        "state": 1,
        "stateName": "locked",
        "batteryCritical": False,
        "batteryCharging": False,
        "batteryChargeState": 85,
        "keypadBatteryCritical": False,
        "doorsensorState": 2,
        "doorsensorStateName": "door closed",
        "timestamp": "1970-01-01T00:00:00+00:00",
    }
    back_state = lock_state_json(back)
    assert set(back_state) == {
        "mode", "state", "stateName", "batteryCritical", "batteryCharging", "batteryChargeState", "success"
    }
    opener_cb = callback_json(opener)
    assert opener_cb == {
        "nukiId": 0x3C4D5E6F,
        "deviceType": 2,
        "mode": 2,
        "state": 1,
        "stateName": "online",
        "batteryCritical": False,
        "ringactionState": False,
    }
    opener.ring_action_timestamp = 1588004000.0
    assert callback_json(opener)["ringactionTimestamp"] == "2020-04-27T16:13:20+00:00"


@pytest.mark.parametrize(
    ("device_type", "state", "name"),
    [
        (DeviceType.SMARTLOCK, LockState.UNLOCKED_LOCK_N_GO, "unlocked (lock 'n' go)"),
        (DeviceType.SMARTLOCK3, LockState.MOTOR_BLOCKED, "motor blocked"),
        (DeviceType.SMARTDOOR, LockState.UNLATCHING, "unlatching"),
        (DeviceType.OPENER, OpenerState.RTO_ACTIVE, "rto active"),
        (DeviceType.OPENER, OpenerState.BOOT_RUN, "boot run"),
        (DeviceType.OPENER, OpenerState.OPENING, "opening"),
    ],
)
def test_state_names_are_the_documents(device_type: DeviceType, state: int, name: str) -> None:
    assert state_name(device_type, state) == name


@pytest.mark.parametrize(
    ("action", "states"),
    [
        (LockAction.UNLOCK, [2, 3]),
        (LockAction.LOCK, [4, 1]),
        (LockAction.UNLATCH, [7, 5, 3]),
        (LockAction.LOCK_N_GO, [2, 6, 4, 1]),
        (LockAction.LOCK_N_GO_UNLATCH, [7, 5, 6, 4, 1]),
    ],
)
def test_lock_action_steps(action: LockAction, states: list[int]) -> None:
    lock = default_devices()[0]
    assert action_steps(lock, action) == [(2, s) for s in states]


def test_opener_action_steps() -> None:
    opener = default_devices()[2]
    assert action_steps(opener, OpenerAction.ACTIVATE_RTO) == [(2, 3)]
    assert action_steps(opener, OpenerAction.DEACTIVATE_RTO) == [(2, 1)]
    assert action_steps(opener, OpenerAction.ELECTRIC_STRIKE_ACTUATION) == [(2, 7), (2, 5), (2, 1)]
    assert action_steps(opener, OpenerAction.ACTIVATE_CONTINUOUS_MODE) == [(3, 3)]
    assert action_steps(opener, OpenerAction.DEACTIVATE_CONTINUOUS_MODE) == [(2, 1)]
    opener.state = OpenerState.RTO_ACTIVE
    assert action_steps(opener, OpenerAction.ELECTRIC_STRIKE_ACTUATION)[-1] == (2, 3)
    with pytest.raises(ValueError):
        action_steps(opener, 6)


def test_simple_actions_follow_the_table() -> None:
    lock, _, opener = default_devices()
    assert simple_action_steps(lock, "unlock") == [(2, 2), (2, 3)]  # handle hardware: unlock, not unlatch
    assert simple_action_steps(lock, "lock") == [(2, 4), (2, 1)]
    opener.mode, opener.state = Mode.CONTINUOUS_MODE, OpenerState.RTO_ACTIVE
    assert simple_action_steps(opener, "lock") == [(2, 1)]  # deactivate rto and cm
    assert [s for _, s in simple_action_steps(opener, "unlock")] == [7, 5, 3]  # open


def test_ring_opens_only_with_rto_or_continuous_mode() -> None:
    opener = default_devices()[2]
    assert ring_steps(opener) == []
    opener.state = OpenerState.RTO_ACTIVE
    assert ring_steps(opener) == [(2, 7), (2, 5), (2, 1)]  # ends RTO
    opener.mode = Mode.CONTINUOUS_MODE
    assert ring_steps(opener) == [(3, 7), (3, 5), (3, 3)]  # continuous mode stays


def test_sim_device_validates() -> None:
    with pytest.raises(ValueError):
        SimDevice(nuki_id=1, device_type=DeviceType.OPENER, name="x", door_sensor=2)
    with pytest.raises(ValueError):
        SimDevice(nuki_id=1, device_type=DeviceType.SMARTLOCK, name="x", state=OpenerState.RTO_ACTIVE + 250)
    with pytest.raises(ValueError):
        SimDevice(nuki_id=1, device_type=DeviceType.SMARTLOCK, name="x", mode=3)
    assert SimDevice(nuki_id=1, device_type=2, name="o").state == OpenerState.ONLINE


def test_example_file_is_the_default_set() -> None:
    assert load_devices(EXAMPLE) == default_devices()


def test_load_json_file(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(
        json.dumps([{"nuki_id": "0000ABCD", "device_type": 3, "name": "Smart door", "state": "unlocked",
                     "door_sensor": 3, "keypad": True, "keypad_battery_critical": True}])
    )
    (device,) = load_devices(path)
    assert (device.nuki_id, device.device_type, device.state) == (0xABCD, DeviceType.SMARTDOOR, LockState.UNLOCKED)
    assert (device.door_sensor, device.has_keypad, device.keypad_battery_critical) == (
        DoorSensorState.DOOR_OPENED, True, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("devices:\n  - {nuki_id: 1, device_type: smartlock, name: a, colour: red}\n", "devices[0].colour: unknown key"),
        ("devices:\n  - {nuki_id: 1, device_type: smartlock, name: a, state: lockd}\n", "devices[0].state: unknown value"),
        ("devices:\n  - {nuki_id: 1, device_type: toaster, name: a}\n", "devices[0].device_type"),
        ("devices:\n  - {nuki_id: 1, device_type: opener, name: a, state: locked}\n", "devices[0].state"),
        ("devices:\n  - {device_type: opener, name: a}\n", "devices[0].nuki_id: required"),
        ("devices:\n  - {nuki_id: 1, device_type: 0, name: a}\n  - {nuki_id: 1, device_type: 2, name: b}\n",
         "devices[1].nuki_id: duplicate"),
        ("devices:\n  - {nuki_id: 1, device_type: 0, name: a, battery_charge: 120}\n", "devices[0].battery_charge"),
        ("devices:\n  - {nuki_id: 1, device_type: opener, name: a, door_sensor: door_closed}\n", "devices[0]:"),
        ("devices: []\n", "non-empty list"),
        ("devices: [\n", "not valid YAML"),
    ],
)
def test_bad_devices_file_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "devices.yaml"
    path.write_text(text)
    with pytest.raises(DeviceFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_devices(path)


def test_missing_devices_file(tmp_path: Path) -> None:
    with pytest.raises(DeviceFileError, match="cannot read"):
        load_devices(tmp_path / "nope.yaml")
