"""Value validators for single keys.

They raise vol.Invalid with a message that never repeats the value (it may be a secret
in the wrong place).
"""
from __future__ import annotations

import ipaddress
import math
import re
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import voluptuous as vol

from nuki2mqtt.const import MAX_CALLBACK_URL_LENGTH, TokenMode

MIN_POLL_INTERVAL = 5.0
LOG_LEVELS = ("debug", "info", "warning", "error")

#: Topic names directly under the base topic that the gateway uses itself.
RESERVED_DEVICE_TOPICS = frozenset({"status", "devices", "bridges", "request", "response"})
#: ... and the prefix of its per-bridge topics (``<base>/bridge_<id>/state``).
RESERVED_DEVICE_TOPIC_PREFIX = "bridge_"

#: Longest bridge serverId in decimal digits; used to bound the callback URL length.
_MAX_SERVER_ID_DIGITS = 10
_CALLBACK_PATH = "/callback/"

_DEVICE_ID_RE = re.compile(r"[0-9A-F]{8}")


def string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise vol.Invalid("expected a string; put the value in quotes (YAML read it as a number)")
    raise vol.Invalid("expected a string")


def text(value: Any) -> str:
    """A string that must not be empty."""
    text = string(value).strip()
    if not text:
        raise vol.Invalid("must not be empty")
    return text


def optional_text(value: Any) -> str | None:
    """Empty means unset, so ``${VAR:-}`` can switch an option off."""
    if value is None:
        return None
    text = string(value).strip()
    return text or None


def secret(value: Any) -> str:
    """Like text, but kept exactly as written (a secret's spaces are its own)."""
    secret = string(value)
    if not secret.strip():
        raise vol.Invalid("must not be empty")
    return secret


def optional_secret(value: Any) -> str | None:
    if value is None:
        return None
    secret = string(value)
    return secret if secret.strip() else None


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise vol.Invalid("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise vol.Invalid("expected an integer")


def number(value: Any) -> float:
    if isinstance(value, bool):
        raise vol.Invalid("expected a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise vol.Invalid("expected a number") from None
    else:
        raise vol.Invalid("expected a number")
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number")
    return number


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise vol.Invalid("expected true or false")


port = vol.All(integer, vol.Range(min=1, max=65535))


def poll_interval(value: Any) -> float:
    seconds = number(value)
    if seconds != 0 and seconds < MIN_POLL_INTERVAL:
        raise vol.Invalid(f"must be 0 (no timer) or at least {MIN_POLL_INTERVAL:g} seconds")
    return seconds


def positive_seconds(value: Any) -> float:
    seconds = number(value)
    if seconds <= 0:
        raise vol.Invalid("must be greater than 0 seconds")
    return seconds


def one_of(*choices: str) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise vol.Invalid(f"must be one of {', '.join(choices)}")

    return validate


token_mode = vol.All(one_of(*sorted(m.value for m in TokenMode)), lambda word: TokenMode(word))


def log_level(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "warn":
        return "warning"
    return one_of(*LOG_LEVELS)(value)


def protocol(value: Any) -> str:
    """5, "5", "5.0" -> "5"; "3.1.1", "311" -> "3.1.1"."""
    if not isinstance(value, bool):
        word = str(value).strip().lower() if isinstance(value, (str, int, float)) else ""
        if word in ("5", "5.0"):
            return "5"
        if word in ("3.1.1", "311"):
            return "3.1.1"
    raise vol.Invalid("must be 5 or 3.1.1")


def topic(value: Any) -> str:
    """A topic the gateway publishes below or subscribes to: no wildcards, no empty levels."""
    topic = text(value)
    if "+" in topic or "#" in topic:
        raise vol.Invalid("must not contain the MQTT wildcards + or #")
    if topic.startswith("/") or topic.endswith("/"):
        raise vol.Invalid("must not start or end with /")
    if "//" in topic:
        raise vol.Invalid("must not contain an empty level (//)")
    if "\x00" in topic:
        raise vol.Invalid("must not contain a NUL character")
    return topic


def device_topic(value: Any) -> str:
    """One topic level below the base topic."""
    topic = text(value)
    if any(c in topic for c in "+#/\x00"):
        raise vol.Invalid("must be a single topic level: no /, + or #")
    if topic in RESERVED_DEVICE_TOPICS or topic.startswith(RESERVED_DEVICE_TOPIC_PREFIX):
        reserved = ", ".join([*sorted(RESERVED_DEVICE_TOPICS), RESERVED_DEVICE_TOPIC_PREFIX + "..."])
        raise vol.Invalid(f"{topic!r} is used by the gateway itself; reserved: {reserved}")
    return topic


def host(value: Any) -> str:
    """A host name or IP address, without scheme, port or path."""
    host = text(value)
    if "://" in host or "/" in host:
        raise vol.Invalid("expected a host name or IP address only, without http:// or a path")
    if any(c.isspace() for c in host):
        raise vol.Invalid("must not contain spaces")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            raise vol.Invalid("expected a host name or IP address only; give the port in 'port'") from None
        return host.strip("[]")
    return host


def url(schemes: Sequence[str], hint: str) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        url = text(value)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise vol.Invalid(f"is not a valid URL; {hint}") from None
        if parts.scheme.lower() not in schemes:
            raise vol.Invalid(f"must start with {' or '.join(s + '://' for s in schemes)}; {hint}")
        if not parts.hostname:
            raise vol.Invalid(f"has no host; {hint}")
        if parts.query or parts.fragment:
            raise vol.Invalid(f"must not have a query (?) or fragment (#); {hint}")
        return (parts.scheme.lower() + url[len(parts.scheme):]).rstrip("/")  # HTTP://... -> http://...

    return validate


base_url = url(("https", "http"), "e.g. https://api.nuki.io")
http_url = url(("http",), "bridges can only call plain http, e.g. http://192.168.1.20:8321")


def advertise_url(value: Any) -> str | None:
    if optional_text(value) is None:
        return None
    url = http_url(value)
    longest = len(url) + len(_CALLBACK_PATH) + _MAX_SERVER_ID_DIGITS
    if longest > MAX_CALLBACK_URL_LENGTH:
        raise vol.Invalid(
            f"too long: the bridge accepts callback URLs of at most {MAX_CALLBACK_URL_LENGTH} characters"
        )
    return url


def existing_file(base_dir: Path | None) -> Callable[[Any], str | None]:
    """A file that must exist; relative paths are relative to the configuration file."""

    def validate(value: Any) -> str | None:
        name = optional_text(value)
        if name is None:
            return None
        path = Path(name).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise vol.Invalid(f"file not found: {path}")
        return str(path)

    return validate


def normalize_device_id(value: Any) -> str:
    """A ``devices:`` key as the contract's device id; raises vol.Invalid with a hint."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise vol.Invalid('device ids are 8 hex digits in quotes, e.g. "1A2B3C4D"')
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise vol.Invalid('device ids are 8 hex digits in quotes, e.g. "1A2B3C4D"')
        message = f'device ids are 8 hex digits in quotes; as a decimal Nuki ID this is "{value:08X}"'
        if len(str(value)) == 8:
            message += f', and if it already is the hex id write "{value}"'
        raise vol.Invalid(message)
    text = value.strip().upper()
    if _DEVICE_ID_RE.fullmatch(text):
        return text
    if text.isdigit() and int(text) <= 0xFFFFFFFF:
        raise vol.Invalid(
            f"device ids are 8 hex digits; this looks like the decimal Nuki ID, write \"{int(text):08X}\""
        )
    if text.startswith("0X") and _DEVICE_ID_RE.fullmatch(text[2:].rjust(8, "0")):
        raise vol.Invalid(f'device ids are 8 hex digits without 0x, write "{text[2:].rjust(8, "0")}"')
    raise vol.Invalid('device ids are 8 hex digits (the Nuki ID in hex), e.g. "1A2B3C4D"')
