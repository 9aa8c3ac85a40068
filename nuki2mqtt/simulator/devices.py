"""Simulated Nuki devices: their data, the JSON the bridge shows of them, and how actions step.

Everything here is pure (no threads, no clocks of its own) so the bridge can run the steps
with its own timing and the shapes can be tested without a server. Field presence follows
the Bridge API document: door sensor fields only with a door sensor, the keypad field only
with a keypad, charge fields only on locks, ring fields only on openers.

Devices file (``nuki2mqtt simulate --devices FILE``), YAML or JSON: a list of devices, or a
mapping with a ``devices`` list. Keys per device (only ``nuki_id``, ``device_type`` and
``name`` are required)::

    devices:
      - nuki_id: 0x1A2B3C4D        # an integer, or the 8-hex-digit device id as a quoted string
        device_type: smartlock3    # smartlock | opener | smartdoor | smartlock3, or 0 | 2 | 3 | 4
        name: Front door
        model: Smart Lock 3.0 Pro  # informational
        firmware_version: "4.2.5"
        mode: 2                    # 2 door mode | 3 continuous mode (openers only), or door_mode | continuous_mode
        state: locked              # a state label (locked, unlocked, online, rto_active, ...) or its number
        battery_charge: 85         # percent (locks)
        battery_critical: false
        battery_charging: false
        keypad: true               # a keypad is paired
        keypad_battery_critical: false
        door_sensor: door_closed   # a door sensor state label or number; null/absent = no door sensor
        offline: false             # /lockState and /lockAction answer 503
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from nuki2mqtt.const import (
    DeviceType,
    DoorSensorState,
    LabelledEnum,
    LockAction,
    LockState,
    Mode,
    OpenerAction,
    OpenerState,
)

#: A step of an action: the (mode, state) the device is in after it.
Step = tuple[int, int]

#: The document's state names (section 4.3), which differ from the MQTT labels.
LOCK_STATE_NAMES: Mapping[LockState, str] = MappingProxyType({
    LockState.UNCALIBRATED: "uncalibrated",
    LockState.LOCKED: "locked",
    LockState.UNLOCKING: "unlocking",
    LockState.UNLOCKED: "unlocked",
    LockState.LOCKING: "locking",
    LockState.UNLATCHED: "unlatched",
    LockState.UNLOCKED_LOCK_N_GO: "unlocked (lock 'n' go)",
    LockState.UNLATCHING: "unlatching",
    LockState.MOTOR_BLOCKED: "motor blocked",
    LockState.UNDEFINED: "undefined",
})
OPENER_STATE_NAMES: Mapping[OpenerState, str] = MappingProxyType({
    OpenerState.UNTRAINED: "untrained",
    OpenerState.ONLINE: "online",
    OpenerState.RTO_ACTIVE: "rto active",
    OpenerState.OPEN: "open",
    OpenerState.OPENING: "opening",
    OpenerState.BOOT_RUN: "boot run",
    OpenerState.UNDEFINED: "undefined",
})
#: Section 4.6; 0 (unavailable) is the Web API's "no sensor" and never appears on the bridge.
DOOR_SENSOR_NAMES: Mapping[DoorSensorState, str] = MappingProxyType({
    DoorSensorState.DEACTIVATED: "deactivated",
    DoorSensorState.DOOR_CLOSED: "door closed",
    DoorSensorState.DOOR_OPENED: "door opened",
    DoorSensorState.DOOR_STATE_UNKNOWN: "door state unknown",
    DoorSensorState.CALIBRATING: "calibrating",
    DoorSensorState.UNCALIBRATED: "uncalibrated",
    DoorSensorState.REMOVED: "removed",
    DoorSensorState.UNKNOWN: "unknown",
})

#: Lock actions (4.4) as the lock walks through them; the first states are transitional.
LOCK_ACTION_STEPS: Mapping[LockAction, tuple[LockState, ...]] = MappingProxyType({
    LockAction.UNLOCK: (LockState.UNLOCKING, LockState.UNLOCKED),
    LockAction.LOCK: (LockState.LOCKING, LockState.LOCKED),
    LockAction.UNLATCH: (LockState.UNLATCHING, LockState.UNLATCHED, LockState.UNLOCKED),
    LockAction.LOCK_N_GO: (
        LockState.UNLOCKING,
        LockState.UNLOCKED_LOCK_N_GO,
        LockState.LOCKING,
        LockState.LOCKED,
    ),
    LockAction.LOCK_N_GO_UNLATCH: (
        LockState.UNLATCHING,
        LockState.UNLATCHED,
        LockState.UNLOCKED_LOCK_N_GO,
        LockState.LOCKING,
        LockState.LOCKED,
    ),
})


class DeviceFileError(ValueError):
    """A devices file that cannot be used; the message names the key path."""


def _is_opener(device_type: int) -> bool:
    return device_type == DeviceType.OPENER


def _valid_states(device_type: int) -> type[LockState] | type[OpenerState]:
    return OpenerState if _is_opener(device_type) else LockState


@dataclass
class SimDevice:
    """One paired device and its current state (the bridge's cache is the truth here).

    ``door_sensor`` None means the device has no door sensor; times are epoch seconds of
    the simulator's clock.
    """

    nuki_id: int
    device_type: DeviceType
    name: str
    firmware_version: str = "1.0.0"
    model: str = ""
    mode: int = Mode.DOOR_MODE
    state: int | None = None  # None: locked for locks, online for openers
    battery_critical: bool = False
    battery_charging: bool = False
    battery_charge: int = 100
    has_keypad: bool = False
    keypad_battery_critical: bool = False
    door_sensor: int | None = None
    ring_action_state: bool = False
    ring_action_timestamp: float | None = None
    offline: bool = False
    updated_at: float | None = None

    def __post_init__(self) -> None:
        self.device_type = DeviceType(self.device_type)
        if not 0 <= int(self.nuki_id) <= 0xFFFFFFFF:
            raise ValueError(f"nuki_id {self.nuki_id} is not a 32-bit id")
        self.nuki_id = int(self.nuki_id)
        if self.state is None:
            self.state = OpenerState.ONLINE if self.is_opener else LockState.LOCKED
        self.state = int(_valid_states(self.device_type)(self.state))
        self.mode = int(Mode(self.mode))
        if self.mode == Mode.CONTINUOUS_MODE and not self.is_opener:
            raise ValueError("continuous mode exists on openers only")
        if self.door_sensor is not None:
            if self.is_opener:
                raise ValueError("an opener has no door sensor")
            self.door_sensor = int(DoorSensorState(self.door_sensor))
            if self.door_sensor == DoorSensorState.UNAVAILABLE:
                raise ValueError("door_sensor 0 is not a bridge state; use null for no door sensor")
        if not 0 <= int(self.battery_charge) <= 100:
            raise ValueError("battery_charge must be 0..100")

    @property
    def is_opener(self) -> bool:
        return _is_opener(self.device_type)

    @property
    def device_id(self) -> str:
        """The contract's device id (8 uppercase hex digits)."""
        return f"{self.nuki_id:08X}"

    def copy(self) -> "SimDevice":
        return dataclasses.replace(self)


def default_devices() -> list[SimDevice]:
    """The fixed demo set; the gateway tests rely on these ids and values."""
    return [
        SimDevice(
            nuki_id=0x1A2B3C4D,
            device_type=DeviceType.SMARTLOCK3,
            name="Front door",
            model="Smart Lock 3.0 Pro",
            firmware_version="4.2.5",
            mode=Mode.DOOR_MODE,
            state=LockState.LOCKED,
            battery_charge=85,
            battery_charging=False,
            has_keypad=True,
            door_sensor=DoorSensorState.DOOR_CLOSED,
        ),
        SimDevice(
            nuki_id=0x2B3C4D5E,
            device_type=DeviceType.SMARTLOCK,
            name="Back door",
            model="Smart Lock 2.0",
            firmware_version="2.14.3",
            state=LockState.LOCKED,
            battery_charge=60,
        ),
        SimDevice(
            nuki_id=0x3C4D5E6F,
            device_type=DeviceType.OPENER,
            name="Community door",
            model="Opener",
            firmware_version="1.9.3",
            mode=Mode.DOOR_MODE,
            state=OpenerState.ONLINE,
        ),
    ]


# ---------------------------------------------------------------- names and timestamps


def state_name(device_type: int, state: int) -> str:
    """The document's ``stateName`` for a state of this kind of device."""
    if _is_opener(device_type):
        return OPENER_STATE_NAMES.get(OpenerState(state), "undefined")
    return LOCK_STATE_NAMES.get(LockState(state), "undefined")


def door_sensor_name(state: int) -> str:
    return DOOR_SENSOR_NAMES.get(DoorSensorState(state), "unknown")


def iso_timestamp(epoch: float) -> str:
    """Device timestamps as the bridge writes them: ``2018-10-03T06:49:00+00:00``."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def zulu_timestamp(epoch: float) -> str:
    """``currentTime`` and token timestamps: ``2019-03-05T01:06:53Z``."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ble_name(device: SimDevice) -> str:
    """The Bluetooth name /info lists in ``scanResults``."""
    kind = "Nuki_Opener_" if device.is_opener else "Nuki_"
    return f"{kind}{device.nuki_id:08X}"


# ---------------------------------------------------------------- JSON shapes


def state_fields(device: SimDevice) -> dict[str, Any]:
    """The state part shared by /list's lastKnownState, /lockState and callbacks."""
    assert device.state is not None
    fields: dict[str, Any] = {
        "mode": device.mode,
        "state": device.state,
        "stateName": state_name(device.device_type, device.state),
        "batteryCritical": device.battery_critical,
    }
    if not device.is_opener:
        fields["batteryCharging"] = device.battery_charging
        fields["batteryChargeState"] = device.battery_charge
    if device.has_keypad:
        fields["keypadBatteryCritical"] = device.keypad_battery_critical
    if device.door_sensor is not None:
        fields["doorsensorState"] = device.door_sensor
        fields["doorsensorStateName"] = door_sensor_name(device.door_sensor)
    if device.is_opener:
        if device.ring_action_timestamp is not None:
            fields["ringactionTimestamp"] = iso_timestamp(device.ring_action_timestamp)
        fields["ringactionState"] = device.ring_action_state
    return fields


def list_entry(device: SimDevice, now: float) -> dict[str, Any]:
    """One item of /list; ``now`` stands in when the device has never been updated."""
    last = state_fields(device)
    last["timestamp"] = iso_timestamp(device.updated_at if device.updated_at is not None else now)
    return {
        "nukiId": device.nuki_id,
        "deviceType": int(device.device_type),
        "name": device.name,
        "firmwareVersion": device.firmware_version,
        "lastKnownState": last,
    }


def lock_state_json(device: SimDevice) -> dict[str, Any]:
    """The /lockState answer."""
    return {**state_fields(device), "success": True}


def callback_json(device: SimDevice) -> dict[str, Any]:
    """The body POSTed to every callback URL on a state change."""
    return {"nukiId": device.nuki_id, "deviceType": int(device.device_type), **state_fields(device)}


def scan_result(device: SimDevice, index: int, paired: bool = True) -> dict[str, Any]:
    """One /info ``scanResults`` item; the RSSI is made up but stable."""
    return {
        "nukiId": device.nuki_id,
        "deviceType": int(device.device_type),
        "name": ble_name(device),
        "rssi": -55 - 7 * index,
        "paired": paired,
    }


def snapshot_json(device: SimDevice) -> dict[str, Any]:
    """The control endpoint's view of a device: everything, with names."""
    data = dataclasses.asdict(device)
    data["device_type"] = device.device_type.label
    data["device_id"] = device.device_id
    data["state_name"] = state_name(device.device_type, device.state or 0)
    data["door_sensor_name"] = None if device.door_sensor is None else door_sensor_name(device.door_sensor)
    return data


# ---------------------------------------------------------------- actions


def action_steps(device: SimDevice, action: int) -> list[Step]:
    """The (mode, state) sequence a /lockAction walks through; ValueError for an invalid action."""
    if device.is_opener:
        return _opener_steps(device, OpenerAction(action))
    return [(device.mode, int(s)) for s in LOCK_ACTION_STEPS[LockAction(action)]]


def _opener_steps(device: SimDevice, action: OpenerAction) -> list[Step]:
    mode = device.mode
    continuous = mode == Mode.CONTINUOUS_MODE
    if action is OpenerAction.ACTIVATE_RTO:
        return [(mode, OpenerState.RTO_ACTIVE)]
    if action is OpenerAction.DEACTIVATE_RTO:
        # Continuous mode keeps Ring to Open on; only deactivating the mode ends it.
        return [(mode, OpenerState.RTO_ACTIVE if continuous else OpenerState.ONLINE)]
    if action is OpenerAction.ELECTRIC_STRIKE_ACTUATION:
        return _open_steps(device, _resting_state(device))
    if action is OpenerAction.ACTIVATE_CONTINUOUS_MODE:
        return [(Mode.CONTINUOUS_MODE, OpenerState.RTO_ACTIVE)]
    return [(Mode.DOOR_MODE, OpenerState.ONLINE)]  # DEACTIVATE_CONTINUOUS_MODE


def _resting_state(device: SimDevice) -> int:
    """The state an opener returns to after opening: where it was, unless it was mid-way."""
    if device.state in (OpenerState.ONLINE, OpenerState.RTO_ACTIVE):
        return int(device.state)
    return OpenerState.RTO_ACTIVE if device.mode == Mode.CONTINUOUS_MODE else OpenerState.ONLINE


def _open_steps(device: SimDevice, back_to: int) -> list[Step]:
    mode = device.mode
    return [(mode, OpenerState.OPENING), (mode, OpenerState.OPEN), (mode, back_to)]


def simple_action_steps(device: SimDevice, name: str) -> list[Step]:
    """/lock and /unlock (4.5), assuming a door with a handle: unlock = unlock, not unlatch."""
    if device.is_opener:
        if name == "lock":  # deactivate rto and cm
            return [(Mode.DOOR_MODE, OpenerState.ONLINE)]
        return _open_steps(device, _resting_state(device))
    action = LockAction.LOCK if name == "lock" else LockAction.UNLOCK
    return action_steps(device, action)


def failed_steps(device: SimDevice, steps: list[Step]) -> list[Step]:
    """A jammed action: the first step, then motor blocked (locks) or no change (openers)."""
    if device.is_opener:
        return []
    return [steps[0], (device.mode, LockState.MOTOR_BLOCKED)]


def ring_steps(device: SimDevice) -> list[Step]:
    """What a doorbell ring does: opens while Ring to Open is active; ends it unless continuous mode."""
    continuous = device.mode == Mode.CONTINUOUS_MODE
    if not (continuous or device.state == OpenerState.RTO_ACTIVE):
        return []
    return _open_steps(device, OpenerState.RTO_ACTIVE if continuous else OpenerState.ONLINE)


# ---------------------------------------------------------------- devices file

_FILE_KEYS = frozenset({f.name for f in dataclasses.fields(SimDevice)} - {
    "has_keypad",
    "ring_action_state",
    "ring_action_timestamp",
    "updated_at",
} | {"keypad"})


def load_devices(path: str | Path) -> list[SimDevice]:
    """Read a devices file (format in the module docstring); DeviceFileError names the bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeviceFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise DeviceFileError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    return devices_from_data(data)


def devices_from_data(data: Any) -> list[SimDevice]:
    """Build devices from already parsed YAML/JSON data."""
    if isinstance(data, Mapping):
        unknown = set(data) - {"devices"}
        if unknown:
            raise DeviceFileError(f"{sorted(unknown)[0]}: unknown key (expected 'devices')")
        data = data.get("devices")
    if not isinstance(data, list) or not data:
        raise DeviceFileError("devices: must be a non-empty list")
    devices = [_device_from_entry(entry, f"devices[{i}]") for i, entry in enumerate(data)]
    seen: set[int] = set()
    for i, device in enumerate(devices):
        if device.nuki_id in seen:
            raise DeviceFileError(f"devices[{i}].nuki_id: duplicate id {device.device_id}")
        seen.add(device.nuki_id)
    return devices


def _device_from_entry(entry: Any, where: str) -> SimDevice:
    if not isinstance(entry, Mapping):
        raise DeviceFileError(f"{where}: must be a mapping")
    for key in entry:
        if key not in _FILE_KEYS:
            raise DeviceFileError(f"{where}.{key}: unknown key")
    for key in ("nuki_id", "device_type", "name"):
        if key not in entry:
            raise DeviceFileError(f"{where}.{key}: required")
    device_type = _enum_value(DeviceType, entry["device_type"], f"{where}.device_type")
    kwargs: dict[str, Any] = {
        "nuki_id": _nuki_id(entry["nuki_id"], f"{where}.nuki_id"),
        "device_type": device_type,
        "name": _text(entry["name"], f"{where}.name"),
    }
    for key in ("model", "firmware_version"):
        if key in entry:
            kwargs[key] = _text(entry[key], f"{where}.{key}")
    if "mode" in entry:
        kwargs["mode"] = _enum_value(Mode, entry["mode"], f"{where}.mode")
    if "state" in entry:
        kwargs["state"] = _enum_value(_valid_states(device_type), entry["state"], f"{where}.state")
    for key, target in (
        ("battery_critical", "battery_critical"),
        ("battery_charging", "battery_charging"),
        ("keypad", "has_keypad"),
        ("keypad_battery_critical", "keypad_battery_critical"),
        ("offline", "offline"),
    ):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise DeviceFileError(f"{where}.{key}: must be true or false")
            kwargs[target] = entry[key]
    if "battery_charge" in entry:
        value = entry["battery_charge"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise DeviceFileError(f"{where}.battery_charge: must be an integer 0..100")
        kwargs["battery_charge"] = value
    if entry.get("door_sensor") is not None:
        kwargs["door_sensor"] = _enum_value(DoorSensorState, entry["door_sensor"], f"{where}.door_sensor")
    try:
        return SimDevice(**kwargs)
    except ValueError as exc:
        raise DeviceFileError(f"{where}: {exc}") from exc


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DeviceFileError(f"{where}: must be a string")
    return str(value)


def _nuki_id(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise DeviceFileError(f"{where}: must be an integer or an 8-hex-digit string")
    if isinstance(value, str):
        try:
            value = int(value, 16)
        except ValueError:
            raise DeviceFileError(f"{where}: '{value}' is not a hex device id") from None
    if not isinstance(value, int) or not 0 < value <= 0xFFFFFFFF:
        raise DeviceFileError(f"{where}: must be a 32-bit id greater than 0")
    return value


def _enum_value(enum: type[LabelledEnum], value: Any, where: str) -> int:
    """An enum member by label (``door_closed``) or number."""
    if isinstance(value, str):
        member = enum.__members__.get(value.strip().upper().replace(" ", "_").replace("-", "_"))
        if member is None:
            names = ", ".join(m.label for m in enum)
            raise DeviceFileError(f"{where}: unknown value '{value}' (one of: {names})")
        return int(member)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return int(enum(value))
        except ValueError:
            raise DeviceFileError(f"{where}: {value} is not a valid number here") from None
    raise DeviceFileError(f"{where}: must be a name or a number")
