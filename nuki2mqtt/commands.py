"""Parsing of ``<base>/<device>/set`` payloads into canonical actions (pure, no I/O).

Accepted: the contract's action names (any case), Home Assistant's LOCK/UNLOCK/OPEN,
the Bridge API's numeric action codes, and JSON ``{"action": ..., "id": ...}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nuki2mqtt.const import DOOR_OPENING_ACTIONS, LockAction, OpenerAction

#: Home Assistant's lock payloads per device family.
_HA_LOCK = MappingProxyType({"lock": "lock", "unlock": "unlock", "open": "unlatch"})
_HA_OPENER = MappingProxyType({"lock": "deactivate_rto", "unlock": "activate_rto", "open": "electric_strike_actuation"})

MAX_PAYLOAD = 1024


@dataclass(frozen=True)
class ParsedCommand:
    """A command resolved to one action valid for the device."""

    action: str  # canonical name, e.g. "unlatch"
    code: int  # the Bridge API action number
    correlation_id: Any = None

    @property
    def opens_door(self) -> bool:
        return self.action in DOOR_OPENING_ACTIONS


@dataclass(frozen=True)
class RejectedCommand:
    """A payload that resolves to no action for this device: answered ``rejected``, never sent."""

    action: str  # the raw payload (or JSON action) as received, for the result
    error: str
    correlation_id: Any = None


def action_enum(is_opener: bool) -> type[LockAction] | type[OpenerAction]:
    return OpenerAction if is_opener else LockAction


def parse_command(payload: bytes, *, is_opener: bool) -> ParsedCommand | RejectedCommand:
    """Resolves a ``set`` payload for a lock (``is_opener`` False) or an opener."""
    if len(payload) > MAX_PAYLOAD:
        return RejectedCommand(action="", error=f"payload too long ({len(payload)} bytes, at most {MAX_PAYLOAD})")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return RejectedCommand(action=payload.decode("utf-8", "replace"), error="payload is not UTF-8 text")
    correlation_id: Any = None
    raw: Any = text
    if text.startswith("{") or text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return RejectedCommand(action=text, error=f"invalid JSON: {exc.msg} at position {exc.pos}")
        except RecursionError:
            return RejectedCommand(action=text[:100], error="invalid JSON: nested too deeply")
        if not isinstance(data, dict):
            return RejectedCommand(action=text, error='JSON command must be an object like {"action": "unlock"}')
        correlation_id = data.get("id")
        if "action" not in data:
            return RejectedCommand(action=text, error='JSON command has no "action" key', correlation_id=correlation_id)
        raw = data["action"]
    if not text:
        return RejectedCommand(action="", error="empty payload", correlation_id=correlation_id)
    resolved = resolve_action(raw, is_opener=is_opener)
    if isinstance(resolved, str):
        return RejectedCommand(action=str(raw), error=resolved, correlation_id=correlation_id)
    return ParsedCommand(action=resolved.label, code=int(resolved), correlation_id=correlation_id)


def resolve_action(raw: Any, *, is_opener: bool) -> LockAction | OpenerAction | str:
    """The action for ``raw``, or a sentence saying why there is none."""
    enum = action_enum(is_opener)
    kind = "an opener" if is_opener else "a lock"
    valid = ", ".join(a.label for a in enum)
    if isinstance(raw, bool):
        return f"unknown action {raw!r} for {kind}; valid: {valid}"
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        try:
            return enum(int(raw))
        except ValueError:
            return f"unknown action code {raw} for {kind}; valid codes: 1-{len(enum)}"
    if not isinstance(raw, str):
        return f"action must be a name or a number, got {type(raw).__name__}"
    name = raw.strip().lower().replace("-", "_").replace(" ", "_")
    ha = (_HA_OPENER if is_opener else _HA_LOCK).get(name)
    if ha:
        name = ha
    try:
        return enum[name.upper()]
    except KeyError:
        other = action_enum(not is_opener)
        if name.upper() in other.__members__:
            return f"action {raw!r} is not valid for {kind}; valid: {valid}"
        return f"unknown action {raw!r}; valid for {kind}: {valid}"
