"""Schema building blocks on top of voluptuous that keep going after an error.

A section collects the errors of all its keys and still returns the keys that did
validate (``Partial``), so every problem in a file is reported in one pass and the
cross checks can run on what is valid.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import voluptuous as vol

from nuki2mqtt.config.validators import normalize_device_id


class UnknownKey(vol.Invalid):
    """A key the schema does not know; never hidden by an unset variable in its value."""


class Partial(vol.MultipleInvalid):
    """Errors of a section, plus the keys of it that did validate (for the cross checks)."""

    def __init__(self, errors: list[vol.Invalid], partial: Any) -> None:
        super().__init__(errors)
        self.partial = partial


_NO_DEFAULT = object()


@dataclass(frozen=True)
class Key:
    """One key of a section. A key that is absent or null takes the default, which is
    validated like a given value (so section defaults fill in their own keys)."""

    name: str
    validator: Any
    default: Any = _NO_DEFAULT
    required: bool = False


def _run(validator: Any, value: Any, key: Any, errors: list[vol.Invalid]) -> tuple[bool, Any]:
    """Validate one value; on failure add its errors below ``key`` and return any partial result."""
    try:
        return True, vol.Schema(validator)(value)
    except Partial as exc:
        exc.prepend([key])
        errors.extend(exc.errors)
        return False, exc.partial
    except vol.MultipleInvalid as exc:
        exc.prepend([key])
        errors.extend(exc.errors)
    return False, None


class Section:
    """A mapping with known keys: unknown keys are errors with a did-you-mean hint."""

    def __init__(self, keys: Sequence[Key], what: str = "a mapping of keys and values") -> None:
        self.keys = tuple(keys)
        self.what = what

    def __call__(self, value: Any) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise vol.Invalid(f"expected {self.what}")
        known = [k.name for k in self.keys]
        errors: list[vol.Invalid] = [
            UnknownKey(_unknown_key_message(key, known), path=[key]) for key in value if key not in known
        ]
        out: dict[str, Any] = {}
        for key in self.keys:
            raw = value.get(key.name)
            if key.name not in value and key.required:
                errors.append(vol.RequiredFieldInvalid("required key not provided", path=[key.name]))
                continue
            if raw is None and key.required:
                errors.append(vol.Invalid("must not be empty", path=[key.name]))
                continue
            if raw is None:  # absent, or present without a value: the default
                if key.default is _NO_DEFAULT:
                    continue
                if key.default is None:
                    out[key.name] = None
                    continue
                raw = key.default
            ok, result = _run(key.validator, raw, key.name, errors)
            if ok or result is not None:
                out[key.name] = result
        if errors:
            raise Partial(errors, out)
        return out


class OptionalSection:
    """A section that may be absent: null (and, with ``allow_bool``, false) means none, true all defaults."""

    def __init__(self, section: Section, allow_bool: bool = False) -> None:
        self.section = section
        self.allow_bool = allow_bool

    def __call__(self, value: Any) -> dict[str, Any] | None:
        if value is None or (self.allow_bool and value is False):
            return None
        if self.allow_bool and value is True:
            value = {}
        return self.section(value)


class SwitchableSection:
    """A section that ``true``/``false`` switch on or off, as zigbee2mqtt's ``homeassistant: false``."""

    def __init__(self, section: Section) -> None:
        self.section = section

    def __call__(self, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            value = {"enabled": value}
        return self.section(value)


class ListOf:
    """A list whose items are validated one by one, keeping the good ones for cross checks."""

    def __init__(self, item: Callable[[Any], Any], what: str) -> None:
        self.item = item
        self.what = what

    def __call__(self, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise vol.Invalid(f"expected {self.what}")
        errors: list[vol.Invalid] = []
        out: list[Any] = []
        for index, item in enumerate(value):
            _, result = _run(self.item, item, index, errors)
            out.append(result)
        if errors:
            raise Partial(errors, out)
        return out


class Devices:
    """``devices:``: keys become the contract's device id (8 uppercase hex digits)."""

    def __init__(self, item: Callable[[Any], Any]) -> None:
        self.item = item

    def __call__(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise vol.Invalid('expected a mapping of device ids, e.g. "1A2B3C4D": {topic: front_door}')
        errors: list[vol.Invalid] = []
        out: dict[str, Any] = {}
        first_key: dict[str, Any] = {}
        for key, entry in value.items():
            _, result = _run(self.item, entry, key, errors)
            try:
                device_id = normalize_device_id(key)
            except vol.Invalid as exc:
                errors.append(vol.Invalid(exc.msg, path=[key]))
                continue
            if device_id in first_key:
                errors.append(
                    vol.Invalid(f"same device as {first_key[device_id]!r} (device ids ignore case)", path=[key])
                )
                continue
            first_key[device_id] = key
            if result is not None:
                out[device_id] = result
        if errors:
            raise Partial(errors, out)
        return out


def _unknown_key_message(key: Any, known: Sequence[str]) -> str:
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        return f"{message} (did you mean {close[0]!r}?)"
    return f"{message} (known keys: {', '.join(known)})"
