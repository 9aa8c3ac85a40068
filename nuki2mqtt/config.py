"""The configuration file: YAML, ``${VAR}`` substitution, voluptuous validation.

Every problem is collected and reported at once, each with its dotted key path, so a
user fixes a file in one pass instead of one error per run. Messages never quote a
value (a value may be a secret in the wrong place); they quote key names, the
allowed choices and, where it helps, a suggestion.

Validation keeps partial results: a section with one bad key still yields its other
keys, so the cross-field checks (base topic vs. discovery prefix, duplicate
bridges, ...) run and report alongside the per-key errors.
"""
from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import voluptuous as vol
import yaml

from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, MAX_CALLBACK_URL_LENGTH, TokenMode

ENV_CONFIG_PATH = "NUKI2MQTT_CONFIG"
DEFAULT_CONFIG_PATH = "config.yaml"
EXAMPLE_CONFIG_NAME = "config.example.yaml"

DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTT_TLS_PORT = 8883
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


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class TlsConfig:
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = DEFAULT_MQTT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "nuki2mqtt"
    base_topic: str = "nuki2mqtt"
    protocol: str = "5"
    tls: TlsConfig | None = None
    keepalive: int = 60


@dataclass(frozen=True)
class HomeAssistantConfig:
    enabled: bool = True
    discovery_prefix: str = "homeassistant"
    status_topic: str = "homeassistant/status"


@dataclass(frozen=True)
class BridgeConfig:
    host: str
    token: str = field(repr=False)
    port: int = DEFAULT_BRIDGE_PORT
    token_mode: TokenMode = TokenMode.ENCRYPTED
    poll_interval: float = 60
    callbacks: bool = True
    allow_maintenance: bool = False


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_file: str | None = None


@dataclass(frozen=True)
class WebhookConfig:
    secret: str = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    api_token: str | None = field(default=None, repr=False)
    oauth: OAuthConfig | None = None
    base_url: str = "https://api.nuki.io"
    poll_interval: float = 60
    webhook: WebhookConfig | None = None


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8321
    advertise_url: str | None = None


@dataclass(frozen=True)
class DeviceConfig:
    topic: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class CommandsConfig:
    ttl: float = 30


@dataclass(frozen=True)
class Config:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    bridges: tuple[BridgeConfig, ...] = ()
    web: WebConfig | None = None
    server: ServerConfig = field(default_factory=ServerConfig)
    devices: Mapping[str, DeviceConfig] = field(default_factory=lambda: MappingProxyType({}))
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    log_level: str = "info"

    def device(self, device_id: str) -> DeviceConfig:
        """The user's settings for a device, or the empty defaults; ids are case-insensitive."""
        return self.devices.get(str(device_id).upper(), DeviceConfig())


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Invalid or missing configuration; ``issues`` holds every problem found."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


# --------------------------------------------------------------------------- loading


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """The -c argument, else ``$NUKI2MQTT_CONFIG``, else ``./config.yaml``."""
    if path:
        return Path(path).expanduser()
    from_env = os.environ.get(ENV_CONFIG_PATH)
    if from_env:
        return Path(from_env).expanduser()
    return Path(DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, substitute and validate a configuration file; raises ConfigError."""
    file = Path(path)
    data = _read_yaml(file)
    return parse_config(data, env, base_dir=file.parent)


def parse_config(
    data: Any, env: Mapping[str, str] | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> Config:
    """Validate already-parsed YAML data; relative TLS paths are taken from ``base_dir``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            [ConfigIssue("config", "the file must hold a mapping of sections (mqtt:, bridges:, ...)")]
        )
    positions: dict[tuple[Any, ...], int] = {}
    unset: list[tuple[Any, ...]] = []
    env_problems: list[_Problem] = []
    substituted = _substitute(data, (), environ, positions, unset, env_problems)

    schema = _config_schema(Path(base_dir) if base_dir is not None else None)
    tree: Mapping[str, Any] = {}
    errors: list[vol.Invalid] = []
    try:
        tree = schema(substituted)
    except _Partial as exc:
        tree, errors = exc.partial, exc.errors
    problems = [
        (tuple(error.path), error.error_message)
        for error in errors
        # a value left empty by an unset variable is reported once, as that variable
        if isinstance(error, _UnknownKey) or not _under_any(tuple(error.path), unset)
    ]
    problems += [
        (path, message)
        for path, message, inputs in _cross_checks(tree)
        if not any(_under_any(used, unset) for used in (path, *inputs))
    ]
    unknown = [tuple(error.path) for error in errors if isinstance(error, _UnknownKey)]
    problems += [p for p in env_problems if not _under_any(p[0], unknown)]

    if problems:
        raise ConfigError(_ordered_issues(problems, positions))
    return _build_config(tree)


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                ConfigIssue(
                    "config",
                    f"file {file} not found; create it from {EXAMPLE_CONFIG_NAME} "
                    f"(cp {EXAMPLE_CONFIG_NAME} {file}), or give another file with -c PATH "
                    f"or ${ENV_CONFIG_PATH}",
                )
            ]
        ) from None
    except IsADirectoryError:
        raise ConfigError([ConfigIssue("config", f"{file} is a directory, not a configuration file")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigIssue("config", f"{file} is not UTF-8 text")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue("config", f"cannot read {file}: {exc.strerror or exc}")]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([ConfigIssue("config", _yaml_message(file, exc))]) from None
    except yaml.YAMLError:
        raise ConfigError([ConfigIssue("config", f"{file} is not valid YAML")]) from None


def _yaml_message(file: Path, exc: yaml.MarkedYAMLError) -> str:
    """Line, column and the parser's problem; never the offending text, which may hold a secret."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{file}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(file)
    message = f"invalid YAML in {where}: {exc.problem or exc.context or 'syntax error'}"
    if exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark:
        line, column = exc.context_mark.line + 1, exc.context_mark.column + 1
        message += f" ({exc.context} started at line {line}, column {column})"
    return message


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which YAML would otherwise silently drop."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# --------------------------------------------------------------------------- ${VAR}

_Problem = tuple[tuple[Any, ...], str]

_VAR_RE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(
    value: Any,
    path: tuple[Any, ...],
    env: Mapping[str, str],
    positions: dict[tuple[Any, ...], int],
    unset: list[tuple[Any, ...]],
    problems: list[_Problem],
) -> Any:
    """A copy of ``value`` with ``${VAR}``/``${VAR:-default}`` replaced; ``$${`` is a literal ``${``.

    Also records each key path's position in the document, so errors can be listed
    in file order.
    """
    positions.setdefault(path, len(positions))
    if isinstance(value, Mapping):
        return {k: _substitute(v, path + (k,), env, positions, unset, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), env, positions, unset, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        current = env.get(name)
        if default is not None and not current:
            return default
        if current is None:
            missing.append(name)
            return ""
        return current

    result = _VAR_RE.sub(replace, value)
    for name in dict.fromkeys(missing):
        unset.append(path)
        problems.append(
            (path, f"environment variable {name} is not set (set it, or write ${{{name}:-default}})")
        )
    return result


# --------------------------------------------------------------------------- schema machinery


class _UnknownKey(vol.Invalid):
    """A key the schema does not know; never hidden by an unset variable in its value."""


class _Partial(vol.MultipleInvalid):
    """Errors of a section, plus the keys of it that did validate (for the cross checks)."""

    def __init__(self, errors: list[vol.Invalid], partial: Any) -> None:
        super().__init__(errors)
        self.partial = partial


_NO_DEFAULT = object()


@dataclass(frozen=True)
class _Key:
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
    except _Partial as exc:
        exc.prepend([key])
        errors.extend(exc.errors)
        return False, exc.partial
    except vol.MultipleInvalid as exc:
        exc.prepend([key])
        errors.extend(exc.errors)
    return False, None


class _Section:
    """A mapping with known keys: unknown keys are errors with a did-you-mean hint."""

    def __init__(self, keys: Sequence[_Key], what: str = "a mapping of keys and values") -> None:
        self.keys = tuple(keys)
        self.what = what

    def __call__(self, value: Any) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise vol.Invalid(f"expected {self.what}")
        known = [k.name for k in self.keys]
        errors: list[vol.Invalid] = [
            _UnknownKey(_unknown_key_message(key, known), path=[key]) for key in value if key not in known
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
            raise _Partial(errors, out)
        return out


class _OptionalSection:
    """A section that may be absent: null (and, with ``allow_bool``, false) means none, true all defaults."""

    def __init__(self, section: _Section, allow_bool: bool = False) -> None:
        self.section = section
        self.allow_bool = allow_bool

    def __call__(self, value: Any) -> dict[str, Any] | None:
        if value is None or (self.allow_bool and value is False):
            return None
        if self.allow_bool and value is True:
            value = {}
        return self.section(value)


class _SwitchableSection:
    """A section that ``true``/``false`` switch on or off, as zigbee2mqtt's ``homeassistant: false``."""

    def __init__(self, section: _Section) -> None:
        self.section = section

    def __call__(self, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            value = {"enabled": value}
        return self.section(value)


class _ListOf:
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
            raise _Partial(errors, out)
        return out


class _Devices:
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
            raise _Partial(errors, out)
        return out


def _unknown_key_message(key: Any, known: Sequence[str]) -> str:
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        return f"{message} (did you mean {close[0]!r}?)"
    return f"{message} (known keys: {', '.join(known)})"


# --------------------------------------------------------------------------- value validators
# They raise vol.Invalid with a message that never repeats the value.


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise vol.Invalid("expected a string; put the value in quotes (YAML read it as a number)")
    raise vol.Invalid("expected a string")


def _text(value: Any) -> str:
    """A string that must not be empty."""
    text = _string(value).strip()
    if not text:
        raise vol.Invalid("must not be empty")
    return text


def _optional_text(value: Any) -> str | None:
    """Empty means unset, so ``${VAR:-}`` can switch an option off."""
    if value is None:
        return None
    text = _string(value).strip()
    return text or None


def _secret(value: Any) -> str:
    """Like _text, but kept exactly as written (a secret's spaces are its own)."""
    secret = _string(value)
    if not secret.strip():
        raise vol.Invalid("must not be empty")
    return secret


def _optional_secret(value: Any) -> str | None:
    if value is None:
        return None
    secret = _string(value)
    return secret if secret.strip() else None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise vol.Invalid("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise vol.Invalid("expected an integer")


def _number(value: Any) -> float:
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


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise vol.Invalid("expected true or false")


_port = vol.All(_integer, vol.Range(min=1, max=65535))


def _poll_interval(value: Any) -> float:
    seconds = _number(value)
    if seconds != 0 and seconds < MIN_POLL_INTERVAL:
        raise vol.Invalid(f"must be 0 (no timer) or at least {MIN_POLL_INTERVAL:g} seconds")
    return seconds


def _positive_seconds(value: Any) -> float:
    seconds = _number(value)
    if seconds <= 0:
        raise vol.Invalid("must be greater than 0 seconds")
    return seconds


def _one_of(*choices: str) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise vol.Invalid(f"must be one of {', '.join(choices)}")

    return validate


_token_mode = vol.All(_one_of(*sorted(m.value for m in TokenMode)), lambda word: TokenMode(word))


def _log_level(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "warn":
        return "warning"
    return _one_of(*LOG_LEVELS)(value)


def _protocol(value: Any) -> str:
    """5, "5", "5.0" -> "5"; "3.1.1", "311" -> "3.1.1"."""
    if not isinstance(value, bool):
        word = str(value).strip().lower() if isinstance(value, (str, int, float)) else ""
        if word in ("5", "5.0"):
            return "5"
        if word in ("3.1.1", "311"):
            return "3.1.1"
    raise vol.Invalid("must be 5 or 3.1.1")


def _topic(value: Any) -> str:
    """A topic the gateway publishes below or subscribes to: no wildcards, no empty levels."""
    topic = _text(value)
    if "+" in topic or "#" in topic:
        raise vol.Invalid("must not contain the MQTT wildcards + or #")
    if topic.startswith("/") or topic.endswith("/"):
        raise vol.Invalid("must not start or end with /")
    if "//" in topic:
        raise vol.Invalid("must not contain an empty level (//)")
    if "\x00" in topic:
        raise vol.Invalid("must not contain a NUL character")
    return topic


def _device_topic(value: Any) -> str:
    """One topic level below the base topic."""
    topic = _text(value)
    if any(c in topic for c in "+#/\x00"):
        raise vol.Invalid("must be a single topic level: no /, + or #")
    if topic in RESERVED_DEVICE_TOPICS or topic.startswith(RESERVED_DEVICE_TOPIC_PREFIX):
        reserved = ", ".join([*sorted(RESERVED_DEVICE_TOPICS), RESERVED_DEVICE_TOPIC_PREFIX + "..."])
        raise vol.Invalid(f"{topic!r} is used by the gateway itself; reserved: {reserved}")
    return topic


def _host(value: Any) -> str:
    """A host name or IP address, without scheme, port or path."""
    host = _text(value)
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


def _url(schemes: Sequence[str], hint: str) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        url = _text(value)
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
        return url.rstrip("/")

    return validate


_base_url = _url(("https", "http"), "e.g. https://api.nuki.io")
_http_url = _url(("http",), "bridges can only call plain http, e.g. http://192.168.1.20:8321")


def _advertise_url(value: Any) -> str | None:
    if _optional_text(value) is None:
        return None
    url = _http_url(value)
    longest = len(url) + len(_CALLBACK_PATH) + _MAX_SERVER_ID_DIGITS
    if longest > MAX_CALLBACK_URL_LENGTH:
        raise vol.Invalid(
            f"too long: the bridge accepts callback URLs of at most {MAX_CALLBACK_URL_LENGTH} characters"
        )
    return url


def _existing_file(base_dir: Path | None) -> Callable[[Any], str | None]:
    """A file that must exist; relative paths are relative to the configuration file."""

    def validate(value: Any) -> str | None:
        name = _optional_text(value)
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


# --------------------------------------------------------------------------- the schema


def _config_schema(base_dir: Path | None) -> _Section:
    """The whole file; ``base_dir`` locates relative TLS file names."""
    tls_file = _existing_file(base_dir)
    tls = _Section(
        [
            _Key("ca_certs", tls_file, None),
            _Key("certfile", tls_file, None),
            _Key("keyfile", tls_file, None),
            _Key("insecure", _boolean, False),
        ],
        "a mapping (ca_certs, certfile, keyfile, insecure) or true",
    )
    mqtt = _Section(
        [
            _Key("host", _host, "localhost"),
            _Key("port", _port),  # default depends on tls: see _build_config
            _Key("username", _optional_text, None),
            _Key("password", _optional_secret, None),
            _Key("client_id", _text, "nuki2mqtt"),
            _Key("base_topic", _topic, "nuki2mqtt"),
            _Key("protocol", _protocol, "5"),
            _Key("tls", _OptionalSection(tls, allow_bool=True), None),
            _Key("keepalive", vol.All(_integer, vol.Range(min=1, max=65535)), 60),
        ]
    )
    homeassistant = _Section(
        [
            _Key("enabled", _boolean, True),
            _Key("discovery_prefix", _topic, "homeassistant"),
            _Key("status_topic", _topic, "homeassistant/status"),
        ]
    )
    bridge = _Section(
        [
            _Key("host", _host, required=True),
            _Key("port", _port, DEFAULT_BRIDGE_PORT),
            _Key("token", _secret, required=True),
            _Key("token_mode", _token_mode, TokenMode.ENCRYPTED.value),
            _Key("poll_interval", _poll_interval, 60),
            _Key("callbacks", _boolean, True),
            _Key("allow_maintenance", _boolean, False),
        ],
        "a mapping with host, token, ...",
    )
    oauth = _Section(
        [
            _Key("client_id", _text, required=True),
            _Key("client_secret", _secret, required=True),
            _Key("refresh_token", _secret, required=True),
            _Key("token_file", _optional_text, None),
        ]
    )
    webhook = _Section([_Key("secret", _secret, required=True)])
    web = _Section(
        [
            _Key("api_token", _optional_secret, None),
            _Key("oauth", _OptionalSection(oauth), None),
            _Key("base_url", _base_url, "https://api.nuki.io"),
            _Key("poll_interval", _poll_interval, 60),
            _Key("webhook", _OptionalSection(webhook), None),
        ]
    )
    server = _Section(
        [
            _Key("host", _text, "0.0.0.0"),
            _Key("port", _port, 8321),
            _Key("advertise_url", _advertise_url, None),
        ]
    )
    device = _Section(
        [_Key("topic", _device_topic, None), _Key("name", _optional_text, None)],
        "a mapping with topic and/or name",
    )
    commands = _Section([_Key("ttl", _positive_seconds, 30)])
    return _Section(
        [
            _Key("mqtt", mqtt, {}),
            _Key("homeassistant", _SwitchableSection(homeassistant), {}),
            _Key("bridges", _ListOf(bridge, "a list of bridges, one '- host: ...' entry each"), []),
            _Key("web", _OptionalSection(web), None),
            _Key("server", server, {}),
            _Key("devices", _Devices(device), {}),
            _Key("commands", commands, {}),
            _Key("log_level", _log_level, "info"),
        ]
    )


# --------------------------------------------------------------------------- cross checks

def _section(tree: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = tree.get(name)
    return value if isinstance(value, Mapping) else {}


#: A cross-check finding: its path, its message, and the other key paths it read
#: (a finding that read a value emptied by an unset variable is not reported).
_Finding = tuple[tuple[Any, ...], str, tuple[tuple[Any, ...], ...]]


def _cross_checks(tree: Mapping[str, Any]) -> list[_Finding]:
    """Checks across keys; each skips what failed validation (already reported)."""
    return [
        *_check_topics(tree),
        *_check_mqtt_credentials(_section(tree, "mqtt")),
        *_check_tls(_section(_section(tree, "mqtt"), "tls")),
        *_check_bridges(tree.get("bridges")),
        *_check_web(tree),
        *_check_device_topics(_section(tree, "devices")),
    ]


def _inside(topic: str, parent: str) -> bool:
    return topic.startswith(parent + "/")


def _check_topics(tree: Mapping[str, Any]) -> Iterator[_Finding]:
    mqtt, ha = _section(tree, "mqtt"), _section(tree, "homeassistant")
    base, prefix, status = mqtt.get("base_topic"), ha.get("discovery_prefix"), ha.get("status_topic")
    base_path = ("mqtt", "base_topic")
    prefix_path, status_path = ("homeassistant", "discovery_prefix"), ("homeassistant", "status_topic")
    if base and prefix and base == prefix:
        yield base_path, f"must differ from homeassistant.discovery_prefix ({prefix!r})", (prefix_path,)
    elif base and prefix and _inside(base, prefix):
        yield base_path, f"must not be inside homeassistant.discovery_prefix ({prefix!r})", (prefix_path,)
    elif base and status and (status == base or _inside(status, base)):
        yield status_path, f"must not be inside mqtt.base_topic ({base!r})", (base_path,)


def _check_mqtt_credentials(mqtt: Mapping[str, Any]) -> Iterator[_Finding]:
    """paho sends no credentials at all without a user name, so the password would be dropped."""
    if mqtt.get("password") and "username" in mqtt and not mqtt["username"]:
        yield (
            ("mqtt", "password"),
            "needs mqtt.username too (without a user name no credentials are sent)",
            (("mqtt", "username"),),
        )


def _check_tls(tls: Mapping[str, Any]) -> Iterator[_Finding]:
    if tls.get("keyfile") and "certfile" in tls and not tls["certfile"]:
        path = ("mqtt", "tls")
        yield path + ("keyfile",), "needs mqtt.tls.certfile (the client certificate) too", (path + ("certfile",),)


def _check_bridges(bridges: Any) -> Iterator[_Finding]:
    if not isinstance(bridges, list):
        return
    first: dict[tuple[str, int], int] = {}
    for index, bridge in enumerate(bridges):
        if not isinstance(bridge, Mapping) or "host" not in bridge or "port" not in bridge:
            continue
        address = (bridge["host"].lower(), bridge["port"])
        if address not in first:
            first[address] = index
            continue
        other = first[address]
        yield (
            ("bridges", index),
            f"same bridge as bridges.{other} ({bridge['host']}:{bridge['port']}); list each bridge once",
            (("bridges", other),),
        )


def _check_web(tree: Mapping[str, Any]) -> Iterator[_Finding]:
    web = tree.get("web")
    if not isinstance(web, Mapping) or "api_token" not in web or "oauth" not in web:
        return
    inputs = (("web", "api_token"), ("web", "oauth"))
    if web["api_token"] and web["oauth"]:
        yield ("web",), "has both api_token and oauth; keep exactly one", inputs
    elif not web["api_token"] and not web["oauth"]:
        yield ("web",), "needs exactly one of api_token or oauth (client_id, client_secret, refresh_token)", inputs


def _check_device_topics(devices: Mapping[str, Any]) -> Iterator[_Finding]:
    """Two devices on one topic would mix their states and commands."""
    used: dict[str, str] = {}
    for device_id, device in devices.items():
        if not isinstance(device, Mapping) or "topic" not in device:
            continue
        topic = device["topic"] or device_id
        if topic in used:
            path = ("devices", device_id, "topic")
            yield path, f"topic {topic!r} is already used by devices.{used[topic]}", ()
        else:
            used[topic] = device_id


# --------------------------------------------------------------------------- results


def _under_any(path: tuple[Any, ...], roots: Sequence[tuple[Any, ...]]) -> bool:
    return any(path[: len(root)] == root for root in roots)


def _path_text(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path) if path else "config"


def _ordered_issues(problems: list[_Problem], positions: Mapping[tuple[Any, ...], int]) -> list[ConfigIssue]:
    """Issues in the order their keys appear in the file, each once."""

    def position(path: tuple[Any, ...]) -> int:
        for end in range(len(path), -1, -1):
            if path[:end] in positions:
                return positions[path[:end]]
        return 0

    ordered = sorted(problems, key=lambda p: position(p[0]))
    issues = [ConfigIssue(_path_text(path), message) for path, message in ordered]
    return list(dict.fromkeys(issues))


def _build_config(tree: Mapping[str, Any]) -> Config:
    """Turn a validated tree into the frozen dataclasses."""
    mqtt = dict(tree["mqtt"])
    tls_values = mqtt.pop("tls")
    tls = TlsConfig(**tls_values) if tls_values is not None else None
    port = mqtt.pop("port", DEFAULT_MQTT_TLS_PORT if tls else DEFAULT_MQTT_PORT)
    web = tree["web"]
    return Config(
        mqtt=MqttConfig(port=port, tls=tls, **mqtt),
        homeassistant=HomeAssistantConfig(**tree["homeassistant"]),
        bridges=tuple(BridgeConfig(**bridge) for bridge in tree["bridges"]),
        web=_build_web(web) if web is not None else None,
        server=ServerConfig(**tree["server"]),
        devices=MappingProxyType({k: DeviceConfig(**v) for k, v in tree["devices"].items()}),
        commands=CommandsConfig(**tree["commands"]),
        log_level=tree["log_level"],
    )


def _build_web(web: Mapping[str, Any]) -> WebConfig:
    values = dict(web)
    oauth = values.pop("oauth")
    webhook = values.pop("webhook")
    return WebConfig(
        oauth=OAuthConfig(**oauth) if oauth is not None else None,
        webhook=WebhookConfig(**webhook) if webhook is not None else None,
        **values,
    )
