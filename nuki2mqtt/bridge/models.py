"""Typed results of the Bridge API.

Parsing is lenient on purpose: firmware versions differ in which optional fields they
send, so every optional field is ``None`` when absent instead of a KeyError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return None if value is None else bool(value)


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


@dataclass(frozen=True)
class DeviceState:
    """A device state: ``lastKnownState`` of /list, the /lockState answer, or a callback body."""

    mode: int | None = None
    state: int | None = None
    state_name: str | None = None
    battery_critical: bool | None = None
    battery_charging: bool | None = None
    battery_charge_state: int | None = None
    keypad_battery_critical: bool | None = None
    doorsensor_state: int | None = None
    doorsensor_state_name: str | None = None
    ringaction_state: bool | None = None
    ringaction_timestamp: str | None = None
    timestamp: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DeviceState":
        return cls(
            mode=_opt_int(data, "mode"),
            state=_opt_int(data, "state"),
            state_name=_opt_str(data, "stateName"),
            battery_critical=_opt_bool(data, "batteryCritical"),
            battery_charging=_opt_bool(data, "batteryCharging"),
            battery_charge_state=_opt_int(data, "batteryChargeState"),
            keypad_battery_critical=_opt_bool(data, "keypadBatteryCritical"),
            doorsensor_state=_opt_int(data, "doorsensorState"),
            doorsensor_state_name=_opt_str(data, "doorsensorStateName"),
            ringaction_state=_opt_bool(data, "ringactionState"),
            ringaction_timestamp=_opt_str(data, "ringactionTimestamp"),
            timestamp=_opt_str(data, "timestamp"),
        )


@dataclass(frozen=True)
class DeviceEntry:
    """One item of /list."""

    nuki_id: int
    device_type: int
    name: str
    last_known_state: DeviceState
    firmware_version: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DeviceEntry":
        return cls(
            nuki_id=int(data["nukiId"]),
            device_type=int(data.get("deviceType", 0)),
            name=str(data.get("name", "")),
            last_known_state=DeviceState.from_json(data.get("lastKnownState") or {}),
            firmware_version=_opt_str(data, "firmwareVersion"),
        )


@dataclass(frozen=True)
class LockStateResult:
    """The /lockState answer: a fresh state read from the device over Bluetooth."""

    state: DeviceState
    success: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LockStateResult":
        return cls(state=DeviceState.from_json(data), success=bool(data.get("success", False)))


@dataclass(frozen=True)
class CallbackEvent:
    """A state change the bridge POSTs to a registered callback URL."""

    nuki_id: int
    device_type: int
    state: DeviceState

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CallbackEvent":
        """Raises KeyError/TypeError/ValueError on a body that is not a callback."""
        if not isinstance(data, Mapping):
            raise TypeError("callback body must be a JSON object")
        return cls(
            nuki_id=int(data["nukiId"]),
            device_type=int(data.get("deviceType", 0)),
            state=DeviceState.from_json(data),
        )


@dataclass(frozen=True)
class ActionResult:
    """Answer of /lockAction, /lock and /unlock."""

    success: bool
    battery_critical: bool | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ActionResult":
        return cls(success=bool(data.get("success", False)), battery_critical=_opt_bool(data, "batteryCritical"))


@dataclass(frozen=True)
class AuthResult:
    """Answer of /auth; ``token`` is None unless the button was pressed in time."""

    success: bool
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AuthResult":
        return cls(success=bool(data.get("success", False)), token=_opt_str(data, "token"))


@dataclass(frozen=True)
class ScanResult:
    nuki_id: int
    device_type: int
    name: str
    rssi: int | None
    paired: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ScanResult":
        # The document's own example uses "type" in one entry and "deviceType" in the other.
        device_type = data.get("deviceType", data.get("type", 0))
        return cls(
            nuki_id=int(data["nukiId"]),
            device_type=int(device_type),
            name=str(data.get("name", "")),
            rssi=_opt_int(data, "rssi"),
            paired=bool(data.get("paired", False)),
        )


@dataclass(frozen=True)
class BridgeInfo:
    """Answer of /info. ``raw`` keeps the answer as it came (the ``bridge_info`` request returns it)."""

    bridge_type: int
    server_id: int
    hardware_id: int | None
    firmware_version: str | None
    wifi_firmware_version: str | None
    app_version: str | None
    uptime: int | None
    current_time: str | None
    server_connected: bool
    scan_results: tuple[ScanResult, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def firmware(self) -> str | None:
        """The version the contract publishes: firmwareVersion, or appVersion on a software bridge."""
        return self.firmware_version or self.app_version

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "BridgeInfo":
        ids = data.get("ids") or {}
        versions = data.get("versions") or {}
        return cls(
            bridge_type=int(data.get("bridgeType", 1)),
            server_id=int(ids.get("serverId", 0)),
            hardware_id=_opt_int(ids, "hardwareId"),
            firmware_version=_opt_str(versions, "firmwareVersion"),
            wifi_firmware_version=_opt_str(versions, "wifiFirmwareVersion"),
            app_version=_opt_str(versions, "appVersion"),
            uptime=_opt_int(data, "uptime"),
            current_time=_opt_str(data, "currentTime"),
            server_connected=bool(data.get("serverConnected", False)),
            scan_results=tuple(ScanResult.from_json(s) for s in data.get("scanResults") or ()),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Callback:
    """One registered callback URL; ``id`` is its position and shifts on removal."""

    id: int
    url: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Callback":
        return cls(id=int(data["id"]), url=str(data["url"]))


@dataclass(frozen=True)
class DiscoveredBridge:
    """One entry of the discovery URL's answer (``bridgeId`` there)."""

    bridge_id: int
    ip: str
    port: int
    date_updated: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DiscoveredBridge":
        bridge_id = data.get("bridgeId", data.get("bridgId", 0))
        return cls(
            bridge_id=int(bridge_id),
            ip=str(data.get("ip", "")),
            port=int(data.get("port", 0)),
            date_updated=_opt_str(data, "dateUpdated"),
        )
