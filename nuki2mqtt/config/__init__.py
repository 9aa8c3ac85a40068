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

import os
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import voluptuous as vol

from nuki2mqtt.config.checks import cross_checks
from nuki2mqtt.config.env import Problem, substitute
from nuki2mqtt.config.model import (
    DEFAULT_MQTT_PORT,
    DEFAULT_MQTT_TLS_PORT,
    BridgeConfig,
    CommandsConfig,
    Config,
    ConfigError,
    ConfigIssue,
    DeviceConfig,
    HomeAssistantConfig,
    MqttConfig,
    OAuthConfig,
    ServerConfig,
    TlsConfig,
    WebConfig,
    WebhookConfig,
)
from nuki2mqtt.config.schema import config_schema
from nuki2mqtt.config.sections import Partial, UnknownKey
from nuki2mqtt.config.yaml_file import (
    DEFAULT_CONFIG_PATH,
    ENV_CONFIG_PATH,
    EXAMPLE_CONFIG_NAME,
    read_yaml,
    resolve_config_path,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_MQTT_PORT",
    "DEFAULT_MQTT_TLS_PORT",
    "ENV_CONFIG_PATH",
    "EXAMPLE_CONFIG_NAME",
    "BridgeConfig",
    "CommandsConfig",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "DeviceConfig",
    "HomeAssistantConfig",
    "MqttConfig",
    "OAuthConfig",
    "ServerConfig",
    "TlsConfig",
    "WebConfig",
    "WebhookConfig",
    "load_config",
    "parse_config",
    "resolve_config_path",
]


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, substitute and validate a configuration file; raises ConfigError."""
    file = Path(path)
    data = read_yaml(file)
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
    env_problems: list[Problem] = []
    substituted = substitute(data, (), environ, positions, unset, env_problems)

    schema = config_schema(Path(base_dir) if base_dir is not None else None)
    tree: Mapping[str, Any] = {}
    errors: list[vol.Invalid] = []
    try:
        tree = schema(substituted)
    except Partial as exc:
        tree, errors = exc.partial, exc.errors
    problems = [
        (tuple(error.path), error.error_message)
        for error in errors
        # a value left empty by an unset variable is reported once, as that variable
        if isinstance(error, UnknownKey) or not _under_any(tuple(error.path), unset)
    ]
    problems += [
        (path, message)
        for path, message, inputs in cross_checks(tree)
        if not any(_under_any(used, unset) for used in (path, *inputs))
    ]
    unknown = [tuple(error.path) for error in errors if isinstance(error, UnknownKey)]
    problems += [p for p in env_problems if not _under_any(p[0], unknown)]

    if problems:
        raise ConfigError(_ordered_issues(problems, positions))
    return _build_config(tree)


def _under_any(path: tuple[Any, ...], roots: Sequence[tuple[Any, ...]]) -> bool:
    return any(path[: len(root)] == root for root in roots)


def _path_text(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path) if path else "config"


def _ordered_issues(problems: list[Problem], positions: Mapping[tuple[Any, ...], int]) -> list[ConfigIssue]:
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
