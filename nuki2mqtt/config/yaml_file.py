"""Finding the configuration file and reading it as YAML, with messages a user can act on."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from nuki2mqtt.config.model import ConfigError, ConfigIssue

ENV_CONFIG_PATH = "NUKI2MQTT_CONFIG"
DEFAULT_CONFIG_PATH = "config.yaml"
EXAMPLE_CONFIG_NAME = "config.example.yaml"


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    """The -c argument, else ``$NUKI2MQTT_CONFIG``, else ``./config.yaml``."""
    if path:
        return Path(path).expanduser()
    from_env = os.environ.get(ENV_CONFIG_PATH)
    if from_env:
        return Path(from_env).expanduser()
    return Path(DEFAULT_CONFIG_PATH)


def read_yaml(file: Path) -> Any:
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
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
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


class StrictLoader(yaml.SafeLoader):
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
