"""Home Assistant MQTT discovery payloads, built as pure functions (no I/O).

The gateway publishes each ``topic -> payload`` pair returned here as retained JSON,
and clears a topic (empty retained payload) when its entity no longer applies.

Decisions (see Home Assistant's MQTT discovery documentation):

* Per-entity topics ``<prefix>/<component>/nuki_<id>/<object>/config`` (the contract's
  layout), full key names, never abbreviations.
* Naming follows ``has_entity_name``: the lock (or the Opener's ring-to-open lock) is
  the device's main entity with ``name: null``; every other entity has a short name
  that never repeats the device name ("Battery", "Door").
* ``default_entity_id`` (Home Assistant 2025.10+, which deprecated ``object_id``) is
  ``<component>.<slug of the device topic>[_<object>]``; older versions ignore it.
* Every template turns a missing reading (JSON null) into the string ``None``, which
  Home Assistant's lock, sensor, binary_sensor and switch take as "unknown" (the
  lock's ``payload_reset`` default is ``None``).
* The event entity's template renders nothing for anything but a ring, and Home
  Assistant ignores an empty rendering, so the ``log`` events on the same topic are
  dropped silently instead of logging "invalid event type".
* A door sensor counts as present while it reports ``door_closed``, ``door_opened``,
  ``door_state_unknown``, ``calibrating`` or ``unknown``; ``deactivated``,
  ``uncalibrated``, ``removed`` (and null) mean there is no usable sensor. Passing
  states such as ``unknown`` keep the entity so it does not flap in and out.
* An Opener in continuous mode rings anyone in, so its lock shows UNLOCKED there
  (as Home Assistant's own Nuki integration does); the switch leaves that mode.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nuki2mqtt import __version__
from nuki2mqtt.const import DoorSensorState, LockState, Mode, OpenerState

SUPPORT_URL = "https://github.com/nuki2mqtt/nuki2mqtt"
MANUFACTURER = "Nuki"
NODE_PREFIX = "nuki_"

#: Contract ``device_type`` -> the model Home Assistant shows.
MODELS: Mapping[str, str] = MappingProxyType(
    {
        "smartlock": "Smart Lock 1.0/2.0",
        "smartlock3": "Smart Lock 3.0/4.0",
        "smartdoor": "Smart Door",
        "opener": "Opener",
        "box": "Box",
        "smartlock_ultra": "Smart Lock Ultra",
    }
)
BRIDGE_MODELS: Mapping[str, str] = MappingProxyType(
    {"hardware": "Bridge", "software": "Software Bridge"}
)

#: Nuki lock state -> Home Assistant lock state; everything else is unknown.
LOCK_HA_STATES: Mapping[str, str] = MappingProxyType(
    {
        LockState.LOCKED.label: "LOCKED",
        LockState.UNLOCKED.label: "UNLOCKED",
        LockState.UNLOCKED_LOCK_N_GO.label: "UNLOCKED",
        LockState.LOCKING.label: "LOCKING",
        LockState.UNLOCKING.label: "UNLOCKING",
        LockState.MOTOR_BLOCKED.label: "JAMMED",
        LockState.UNLATCHED.label: "OPEN",
        LockState.UNLATCHING.label: "OPENING",
    }
)
#: Opener state -> Home Assistant lock state (locked = ring to open is off).
OPENER_HA_STATES: Mapping[str, str] = MappingProxyType(
    {
        OpenerState.UNTRAINED.label: "LOCKED",
        OpenerState.ONLINE.label: "LOCKED",
        OpenerState.RTO_ACTIVE.label: "UNLOCKED",
        OpenerState.OPEN.label: "OPEN",
        OpenerState.OPENING.label: "OPENING",
    }
)
DOOR_SENSOR_ACTIVE: frozenset[str] = frozenset(
    {
        DoorSensorState.DOOR_CLOSED.label,
        DoorSensorState.DOOR_OPENED.label,
        DoorSensorState.DOOR_STATE_UNKNOWN.label,
        DoorSensorState.CALIBRATING.label,
        DoorSensorState.UNKNOWN.label,
    }
)

_UNSAFE_TOPIC_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def origin() -> dict[str, str]:
    """The ``origin`` block: tells Home Assistant (and its log) who published a config."""
    return {"name": "nuki2mqtt", "sw_version": __version__, "support_url": SUPPORT_URL}


def node_id(device_id: str) -> str:
    """The discovery node id and device identifier, ``nuki_<id>``."""
    return NODE_PREFIX + _UNSAFE_TOPIC_CHARS.sub("_", str(device_id))


def bridge_node_id(bridge_id: str) -> str:
    """``nuki_bridge_<serverId>``: the bridge's own Home Assistant device."""
    return node_id(f"bridge_{bridge_id}")


def is_own_discovery_topic(topic: str, discovery_prefix: str) -> bool:
    """True for ``<prefix>/<component>/nuki_*/<object>/config`` (ours or another instance's)."""
    pattern = rf"{re.escape(discovery_prefix)}/[^/+#]+/{NODE_PREFIX}[^/+#]+/[^/+#]+/config"
    return re.fullmatch(pattern, topic) is not None


def owned_by(payload: Mapping[str, Any], base_topic: str) -> bool:
    """True when every availability topic of ``payload`` lies under ``base_topic``.

    Lets the gateway clear stale configs without touching another instance's
    (which share the ``nuki_`` node ids but use another base topic).
    """
    if not isinstance(payload, Mapping):
        return False
    topics = list(_availability_topics(payload))
    prefix = base_topic.rstrip("/") + "/"
    return bool(topics) and all(t.startswith(prefix) for t in topics)


def device_discovery(
    device: Mapping[str, Any],
    state: Mapping[str, Any] | None,
    *,
    base_topic: str,
    discovery_prefix: str,
) -> dict[str, dict[str, Any]]:
    """Discovery topic -> payload for every entity that applies to ``device`` now.

    Entities that depend on a reading (battery level, charging, door sensor, keypad)
    appear once ``state`` reports it; with ``state`` None only the fixed ones do.
    """
    ctx = _device_context(device, base_topic=base_topic, discovery_prefix=discovery_prefix)
    reading = state or {}
    is_opener = device.get("device_type") == "opener"
    entities = _opener_entities(ctx) if is_opener else _lock_entities(ctx)
    entities += _reading_entities(ctx, reading)
    return dict(entities)


def bridge_discovery(
    bridge: Mapping[str, Any], *, base_topic: str, discovery_prefix: str
) -> dict[str, dict[str, Any]]:
    """Discovery topic -> payload for a bridge's own device (connectivity, firmware, uptime)."""
    bridge_id = str(bridge["id"])
    node = bridge_node_id(bridge_id)
    device_block: dict[str, Any] = {
        "identifiers": [node],
        "manufacturer": MANUFACTURER,
        "model": BRIDGE_MODELS.get(str(bridge.get("bridge_type")), "Bridge"),
        "name": f"Nuki Bridge {bridge_id}",
    }
    if bridge.get("firmware"):
        device_block["sw_version"] = str(bridge["firmware"])
    device_topic = f"bridge_{bridge_id}"
    ctx = _Context(
        node=node,
        slug=_slug(node),
        discovery_prefix=discovery_prefix,
        device=device_block,
        availability=_availability(base_topic, device_topic),
        state_topic=f"{base_topic}/{device_topic}/state",
        command_topic=f"{base_topic}/{device_topic}/set",
        event_topic=f"{base_topic}/{device_topic}/event",
    )
    entities = [
        ctx.entity(
            "binary_sensor",
            "server_connection",
            "Server connection",
            state=True,
            device_class="connectivity",
            value_template=_bool_template("server_connected"),
        ),
        ctx.entity(
            "sensor",
            "firmware",
            "Firmware",
            state=True,
            entity_category="diagnostic",
            icon="mdi:chip",
            value_template=_value_template("firmware"),
        ),
    ]
    if bridge.get("uptime") is not None:
        entities.append(
            ctx.entity(
                "sensor",
                "uptime",
                "Uptime",
                state=True,
                entity_category="diagnostic",
                device_class="duration",
                unit_of_measurement="s",
                value_template=_value_template("uptime"),
            )
        )
    return dict(entities)


# --- entity sets -------------------------------------------------------------------


def _lock_entities(ctx: _Context) -> list[tuple[str, dict[str, Any]]]:
    """Smart Lock, Smart Door, Box, Ultra: lock, Lock 'n' Go buttons, battery, state."""
    return [
        ctx.entity(
            "lock",
            "lock",
            None,
            state=True,
            command=True,
            payload_lock="lock",
            payload_unlock="unlock",
            payload_open="unlatch",
            value_template=_map_template("state", LOCK_HA_STATES),
        ),
        ctx.entity(
            "button", "lock_n_go", "Lock 'n' Go", command=True,
            icon="mdi:lock-clock", payload_press="lock_n_go",
        ),
        ctx.entity(
            "button", "lock_n_go_unlatch", "Lock 'n' Go with unlatch", command=True,
            icon="mdi:lock-clock", payload_press="lock_n_go_unlatch",
        ),
        _battery_critical(ctx),
        _state_sensor(ctx, "Lock state", [s.label for s in LockState]),
    ]


def _opener_entities(ctx: _Context) -> list[tuple[str, dict[str, Any]]]:
    """Opener: ring-to-open lock, continuous mode, electric strike, doorbell event."""
    continuous = int(Mode.CONTINUOUS_MODE)
    online = OpenerState.ONLINE.label
    rto_template = (
        f"{{{{ 'UNLOCKED' if value_json.mode == {continuous} and value_json.state == '{online}'"
        f" else {_jinja_dict(OPENER_HA_STATES)}.get(value_json.state, 'None') }}}}"
    )
    return [
        ctx.entity(
            "lock",
            "ring_to_open",
            None,
            state=True,
            command=True,
            payload_lock="deactivate_rto",
            payload_unlock="activate_rto",
            payload_open="electric_strike_actuation",
            value_template=rto_template,
        ),
        ctx.entity(
            "switch",
            "continuous_mode",
            "Continuous mode",
            state=True,
            command=True,
            icon="mdi:bell-ring",
            payload_on="activate_continuous_mode",
            payload_off="deactivate_continuous_mode",
            state_on="ON",
            state_off="OFF",
            value_template=(
                "{{ 'None' if value_json.mode is none else "
                f"('ON' if value_json.mode == {continuous} else 'OFF') }}}}"
            ),
        ),
        ctx.entity(
            "button", "electric_strike", "Electric strike", command=True,
            icon="mdi:door-open", payload_press="electric_strike_actuation",
        ),
        ctx.entity(
            "event",
            "doorbell",
            "Doorbell",
            device_class="doorbell",
            event_types=["ring"],
            state_topic=ctx.event_topic,
            value_template="{% if value_json.event_type == 'ring' %}{{ value }}{% endif %}",
        ),
        _battery_critical(ctx),
        _state_sensor(ctx, "Opener state", [s.label for s in OpenerState]),
    ]


def _reading_entities(
    ctx: _Context, reading: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Entities that exist only where the device reports the reading."""
    entities = []
    if reading.get("battery_charge") is not None:
        entities.append(
            ctx.entity(
                "sensor",
                "battery",
                "Battery",
                state=True,
                entity_category="diagnostic",
                device_class="battery",
                unit_of_measurement="%",
                state_class="measurement",
                value_template=_value_template("battery_charge"),
            )
        )
    if reading.get("battery_charging") is not None:
        entities.append(
            ctx.entity(
                "binary_sensor",
                "battery_charging",
                "Battery charging",
                state=True,
                entity_category="diagnostic",
                device_class="battery_charging",
                value_template=_bool_template("battery_charging"),
            )
        )
    if reading.get("door_sensor") in DOOR_SENSOR_ACTIVE:
        door_states = {
            DoorSensorState.DOOR_OPENED.label: "ON",
            DoorSensorState.DOOR_CLOSED.label: "OFF",
        }
        entities.append(
            ctx.entity(
                "binary_sensor",
                "door",
                "Door",
                state=True,
                device_class="door",
                value_template=_map_template("door_sensor", door_states),
            )
        )
    if reading.get("keypad_battery_critical") is not None:
        entities.append(
            ctx.entity(
                "binary_sensor",
                "keypad_battery_critical",
                "Keypad battery critical",
                state=True,
                entity_category="diagnostic",
                device_class="battery",
                value_template=_bool_template("keypad_battery_critical"),
            )
        )
    return entities


def _battery_critical(ctx: _Context) -> tuple[str, dict[str, Any]]:
    return ctx.entity(
        "binary_sensor",
        "battery_critical",
        "Battery critical",
        state=True,
        entity_category="diagnostic",
        device_class="battery",
        value_template=_bool_template("battery_critical"),
    )


def _state_sensor(ctx: _Context, name: str, options: list[str]) -> tuple[str, dict[str, Any]]:
    """The raw Nuki state name, as an enum sensor so automations can pick from it."""
    return ctx.entity(
        "sensor",
        "state",
        name,
        state=True,
        entity_category="diagnostic",
        device_class="enum",
        options=options,
        icon="mdi:state-machine",
        value_template=_value_template("state"),
    )


# --- building blocks ---------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every entity of one Home Assistant device shares."""

    node: str
    slug: str
    discovery_prefix: str
    device: Mapping[str, Any]
    availability: tuple[str, ...]
    state_topic: str
    command_topic: str
    event_topic: str

    def entity(
        self,
        component: str,
        key: str,
        name: str | None,
        *,
        state: bool = False,
        command: bool = False,
        **fields: Any,
    ) -> tuple[str, dict[str, Any]]:
        """(discovery topic, payload) of one entity; ``state``/``command`` add the device topics."""
        object_id = self.slug if name is None else f"{self.slug}_{key}"
        payload: dict[str, Any] = {
            "name": name,
            "unique_id": f"{self.node}_{key}",
            "default_entity_id": f"{component}.{object_id}",
            "device": _copy(self.device),
            "origin": origin(),
            "availability": [{"topic": topic} for topic in self.availability],
            "availability_mode": "all",
        }
        if state:
            payload["state_topic"] = self.state_topic
        if command:
            payload["command_topic"] = self.command_topic
        payload.update(fields)
        return f"{self.discovery_prefix}/{component}/{self.node}/{key}/config", payload


def _device_context(
    device: Mapping[str, Any], *, base_topic: str, discovery_prefix: str
) -> _Context:
    device_id = str(device["id"])
    device_topic = str(device.get("topic") or device_id)
    node = node_id(device_id)
    block: dict[str, Any] = {
        "identifiers": [node],
        "manufacturer": MANUFACTURER,
        "model": MODELS.get(str(device.get("device_type")), str(device.get("device_type"))),
        "name": str(device.get("name") or device_id),
    }
    if device.get("firmware"):
        block["sw_version"] = str(device["firmware"])
    if device.get("bridge"):
        block["via_device"] = bridge_node_id(str(device["bridge"]))
    # A topic left at the raw id would give "lock.1a2b3c4d"; say what it is.
    slug = _slug(device_topic) if device_topic != device_id else ""
    return _Context(
        node=node,
        slug=slug or _slug(node),
        discovery_prefix=discovery_prefix,
        device=block,
        availability=_availability(base_topic, device_topic),
        state_topic=f"{base_topic}/{device_topic}/state",
        command_topic=f"{base_topic}/{device_topic}/set",
        event_topic=f"{base_topic}/{device_topic}/event",
    )


def _availability(base_topic: str, device_topic: str) -> tuple[str, ...]:
    """Gateway status first: a device is available only while the gateway is too."""
    return (f"{base_topic}/status", f"{base_topic}/{device_topic}/availability")


def _slug(text: str) -> str:
    """An entity-id-safe slug: lower case, single underscores, none at either end."""
    return _NON_SLUG.sub("_", text.lower()).strip("_")


def _copy(block: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in block.items()}


def _jinja_dict(mapping: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in mapping.items()) + "}"


def _map_template(field: str, mapping: Mapping[str, str]) -> str:
    """Looks ``field`` up in ``mapping``; anything else (and null) renders ``None`` = unknown."""
    return f"{{{{ {_jinja_dict(mapping)}.get(value_json.{field}, 'None') }}}}"


def _bool_template(field: str) -> str:
    return (
        f"{{{{ 'None' if value_json.{field} is none else "
        f"('ON' if value_json.{field} else 'OFF') }}}}"
    )


def _value_template(field: str) -> str:
    return f"{{{{ 'None' if value_json.{field} is none else value_json.{field} }}}}"


def _availability_topics(payload: Mapping[str, Any]) -> Iterable[str]:
    """Availability topics in full or abbreviated form, with ``~`` expanded as HA does."""
    base = payload.get("~")
    single = payload.get("availability_topic", payload.get("avty_t"))
    entries = payload.get("availability", payload.get("avty")) or []
    topics = [single] if isinstance(single, str) else []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, Mapping):
                topic = entry.get("topic", entry.get("t"))
                if isinstance(topic, str):
                    topics.append(topic)
    for topic in topics:
        if isinstance(base, str) and topic.startswith("~"):
            topic = base + topic[1:]
        elif isinstance(base, str) and topic.endswith("~"):
            topic = topic[:-1] + base
        yield topic
