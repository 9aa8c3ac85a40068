"""The user documentation stays in step with the code.

- docs/configuration.md documents every key of the configuration schema, no key the
  schema does not have, and each key's real default (a documented default written into
  a file must change nothing); its check-config sample is the command's real output.
- docs/mqtt.md documents the contract's topics (plus the documented additions only),
  every command and request name, and example payloads with the fields the code sends.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import yaml

from nuki2mqtt import config as cfg
from nuki2mqtt.config import sections, validators
from nuki2mqtt.config.schema import config_schema
from nuki2mqtt import state as states
from nuki2mqtt.api_requests import MAINTENANCE, WEB_REQUESTS
from nuki2mqtt.cli import main
from nuki2mqtt.const import LockAction, OpenerAction
from nuki2mqtt.gateway import BridgeHandle, Device

REPO = Path(__file__).resolve().parent.parent
CONFIG_DOC = REPO / "docs" / "configuration.md"
MQTT_DOC = REPO / "docs" / "mqtt.md"

# --------------------------------------------------------------------------- markdown helpers

_CODE = re.compile(r"`([^`]*)`")


def _split_row(line: str) -> list[str]:
    """Cells of a markdown table row; a `|` inside backticks stays in its cell."""
    cells, current, in_code = [], "", False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def tables(text: str, header: list[str]) -> Iterator[list[str]]:
    """Body rows of every markdown table whose header row is exactly ``header``."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("|") or [c.lower() for c in _split_row(line)] != header:
            continue
        for row in lines[index + 2:]:
            if not row.startswith("|"):
                break
            yield _split_row(row)


def marked_block(text: str, marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->``."""
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert match, f"no code block after <!-- {marker} -->"
    return match.group(1)


# --------------------------------------------------------------------------- the schema


def _child_section(validator: Any) -> tuple[str, Any] | None:
    """(path suffix, section) of a key whose value is itself a section."""
    if isinstance(validator, sections.Section):
        return "", validator
    if isinstance(validator, (sections.OptionalSection, sections.SwitchableSection)):
        return "", validator.section
    if isinstance(validator, sections.ListOf) and isinstance(validator.item, sections.Section):
        return "[]", validator.item
    if isinstance(validator, sections.Devices) and isinstance(validator.item, sections.Section):
        return ".<id>", validator.item
    return None


def schema_keys(section: Any = None, prefix: str = "") -> dict[str, Any]:
    """Every key path of the schema -> its ``Key``; section keys included."""
    section = section or config_schema(None)
    keys: dict[str, Any] = {}
    for key in section.keys:
        path = f"{prefix}{key.name}"
        keys[path] = key
        child = _child_section(key.validator)
        if child:
            suffix, sub = child
            keys.update(schema_keys(sub, f"{path}{suffix}."))
    return keys


SCHEMA = schema_keys()
SECTIONS = {path for path, key in SCHEMA.items() if _child_section(key.validator)}


def documented_keys() -> dict[str, list[str]]:
    """Key path -> its table row in docs/configuration.md."""
    rows: dict[str, list[str]] = {}
    for row in tables(CONFIG_DOC.read_text(encoding="utf-8"), ["key", "type", "default", "description"]):
        match = _CODE.fullmatch(row[0])
        assert match, f"key cell must be one `key.path`: {row[0]!r}"
        path = match.group(1)
        assert path not in rows, f"{path} is documented twice"
        assert len(row) == 4 and all(row), f"{path}: every column needs a value: {row}"
        rows[path] = row
    return rows


DOCUMENTED = documented_keys()


def test_schema_walk_finds_nested_keys() -> None:
    """Guards the walker itself: it must reach lists, devices and nested sections."""
    for path in ("mqtt.port", "mqtt.tls.insecure", "bridges[].poll_interval", "web.oauth.client_id",
                 "web.webhook.secret", "devices.<id>.topic", "commands.ttl", "log_level"):
        assert path in SCHEMA
    assert len(SCHEMA) > 40


def test_every_schema_key_is_documented() -> None:
    missing = sorted(set(SCHEMA) - set(DOCUMENTED))
    assert not missing, f"keys missing from docs/configuration.md: {missing}"


def test_every_documented_key_exists() -> None:
    stale = sorted(set(DOCUMENTED) - set(SCHEMA))
    assert not stale, f"docs/configuration.md documents keys the schema does not have: {stale}"


# --------------------------------------------------------------------------- defaults

BRIDGE = {"host": "192.0.2.10", "token": "doc-bridge-token"}
OAUTH = {"client_id": "doc-client", "client_secret": "doc-client-secret", "refresh_token": "doc-refresh"}
DEVICE_ID = "1A2B3C4D"


def _tokens(path: str) -> list[Any]:
    """``bridges[].port`` -> ["bridges", 0, "port"]; ``devices.<id>.topic`` -> ["devices", id, "topic"]."""
    out: list[Any] = []
    for part in path.split("."):
        if part == "<id>":
            out.append(DEVICE_ID)
        elif part.endswith("[]"):
            out += [part[:-2], 0]
        else:
            out.append(part)
    return out


def base_config(path: str) -> dict[str, Any]:
    """The smallest file in which ``path`` is reachable, without ``path`` itself set."""
    data: dict[str, Any] = {
        "bridges": [dict(BRIDGE)],
        "web": {"api_token": "doc-web-token", "webhook": {"secret": "doc-hook-secret"}},
        "devices": {DEVICE_ID: {}},
    }
    if path == "web.api_token" or path.startswith("web.oauth."):
        data["web"] = {"oauth": dict(OAUTH)}
    if path.startswith("mqtt.tls."):
        data["mqtt"] = {"tls": {}}
    tokens = _tokens(path)
    parent: Any = data
    for token in tokens[:-1]:
        parent = parent[token] if isinstance(token, int) else parent.get(token, {})
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)
    return data


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    tokens = _tokens(path)
    parent: Any = data
    for token in tokens[:-1]:
        parent = parent[token] if isinstance(token, int) else parent.setdefault(token, {})
    parent[tokens[-1]] = value
    return data


def config_value(config: cfg.Config, path: str) -> Any:
    value: Any = config
    for token in _tokens(path):
        if isinstance(token, int):
            value = value[token]
        elif isinstance(value, cfg.Config) and token == "devices":
            value = value.devices
        elif isinstance(value, dict) or hasattr(value, "keys"):
            value = value[token]
        else:
            value = getattr(value, token)
    return value


def documented_default(path: str) -> tuple[bool, Any]:
    """(required, default as YAML) from the default column."""
    cell = DOCUMENTED[path][2]
    if cell.strip("*").lower() == "required":
        return True, None
    match = _CODE.search(cell)
    assert match, f"{path}: the default must be `a YAML value` or *required*: {cell!r}"
    return False, yaml.safe_load(match.group(1))


@pytest.mark.parametrize("path", sorted(SCHEMA))
def test_documented_default_is_the_real_default(path: str) -> None:
    if path not in DOCUMENTED:
        pytest.fail(f"{path} is not documented")
    required, default = documented_default(path)
    key = SCHEMA[path]
    assert required == key.required, f"{path}: documented as {'required' if required else 'optional'}"
    base = base_config(path)
    issue_path = ".".join(str(t) for t in _tokens(path))
    if required:
        with pytest.raises(cfg.ConfigError) as info:
            cfg.parse_config(base, env={})
        assert issue_path in [issue.path for issue in info.value.issues]
        return
    implicit = cfg.parse_config(base, env={})
    explicit = cfg.parse_config(with_value(base, path, default), env={})
    assert explicit == implicit, f"{path}: writing the documented default {default!r} changes the configuration"
    if path in SECTIONS:
        if default is None:
            assert config_value(implicit, path) is None
        return
    actual = config_value(implicit, path)
    if default is None:
        assert actual is None, f"{path}: documented null, real default {actual!r}"
    else:
        assert actual == default or str(actual) == str(default), f"{path}: documented {default!r}, real {actual!r}"


def test_mqtt_port_default_with_tls_is_documented() -> None:
    with_tls = cfg.parse_config({"mqtt": {"tls": True}}, env={})
    assert with_tls.mqtt.port == cfg.DEFAULT_MQTT_TLS_PORT
    assert f"`{cfg.DEFAULT_MQTT_TLS_PORT}`" in DOCUMENTED["mqtt.port"][2]


def test_documented_poll_interval_minimum() -> None:
    for path in ("bridges[].poll_interval", "web.poll_interval"):
        assert f"at least {validators.MIN_POLL_INTERVAL:g}" in DOCUMENTED[path][1]


def test_reserved_device_topics_are_documented() -> None:
    description = DOCUMENTED["devices.<id>.topic"][3]
    for name in sorted(validators.RESERVED_DEVICE_TOPICS) + [validators.RESERVED_DEVICE_TOPIC_PREFIX]:
        assert f"`{name}`" in description


def test_check_config_sample_is_real_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = CONFIG_DOC.read_text(encoding="utf-8")
    config_file = tmp_path / "bad.yaml"
    config_file.write_text(marked_block(text, "check-config sample: config"), encoding="utf-8")
    monkeypatch.delenv("NUKI_BRIDGE_TOKEN", raising=False)
    assert main(["check-config", "-c", str(config_file)]) == 2
    printed = capsys.readouterr().err.splitlines()
    assert printed == marked_block(text, "check-config sample: output").splitlines()


# --------------------------------------------------------------------------- MQTT topics

#: The topic table of CONTRACT.md, copied: the contract is fixed, and its file lives outside the repository.
CONTRACT_TOPICS = frozenset({
    "<base>/status",
    "<base>/devices",
    "<base>/bridges",
    "<base>/<device>/state",
    "<base>/<device>/availability",
    "<base>/<device>/set",
    "<base>/<device>/result",
    "<base>/<device>/event",
    "<base>/request/<name>",
    "<base>/response/<name>",
})
#: Topics the gateway publishes beyond the contract, each documented as an addition.
ADDITIONS = frozenset({"<base>/bridge_<id>/state", "<base>/bridge_<id>/availability"})


def topic_rows() -> dict[str, list[str]]:
    rows = {}
    for row in tables(MQTT_DOC.read_text(encoding="utf-8"), ["topic", "direction", "retained", "payload"]):
        match = _CODE.fullmatch(row[0])
        assert match and match.group(1).startswith("<base>/"), f"topic cell must be one `<base>/...`: {row[0]!r}"
        rows[match.group(1)] = row
    return rows


def test_documented_topics_are_contract_topics_or_additions() -> None:
    documented = set(topic_rows())
    assert not documented - CONTRACT_TOPICS - ADDITIONS, "topics neither in the contract nor documented additions"
    assert CONTRACT_TOPICS <= documented, f"contract topics missing: {sorted(CONTRACT_TOPICS - documented)}"
    assert ADDITIONS <= documented


def test_additions_are_marked_as_such() -> None:
    for topic, row in topic_rows().items():
        assert ("**Addition**" in row[3]) == (topic in ADDITIONS), topic


def test_every_action_and_request_is_documented() -> None:
    text = MQTT_DOC.read_text(encoding="utf-8")
    for action in [*LockAction, *OpenerAction]:
        assert f"`{action.label}`" in text, action.label
    for name in ["refresh", "bridge_info", "bridge_log", "bridge_callbacks", *MAINTENANCE, *WEB_REQUESTS]:
        assert name in text, name
    for status in ("ok", "accepted", "error", "expired", "rejected"):
        assert f"`{status}`" in text, status


# --------------------------------------------------------------------------- example payloads


def example(name: str) -> Any:
    return json.loads(marked_block(MQTT_DOC.read_text(encoding="utf-8"), f"example: {name}"))


def test_state_example_has_every_state_field() -> None:
    assert list(example("state")) == list(states.STATE_FIELDS)


def test_devices_example_has_the_fields_the_gateway_sends() -> None:
    device = Device(id=DEVICE_ID, nuki_id=439041101, device_type="smartlock3", bridge_device_type=4,
                    reported_name="Front door", name="Front door", topic=DEVICE_ID)
    for item in example("devices"):
        assert list(item) == list(device.entry())


def test_bridges_example_has_the_fields_the_gateway_sends() -> None:
    worker = SimpleNamespace(last_seen=None, reachable=True, callback_registered=None)
    handle = BridgeHandle(cfg.BridgeConfig(host="192.0.2.10", token="doc-bridge-token"), worker)  # type: ignore[arg-type]
    for item in example("bridges"):
        assert list(item) == list(handle.entry())
    assert list(example("bridge state")) == list(handle.entry())


def test_result_and_response_examples_have_the_contract_fields() -> None:
    text = MQTT_DOC.read_text(encoding="utf-8")
    results = re.findall(r"<!-- example: result -->\s*```json\n(.*?)```", text, re.S)
    assert results
    for block in results:
        for line in block.strip().splitlines():
            assert list(json.loads(line)) == ["id", "action", "status", "error", "attempts", "duration_ms"]
    responses = re.findall(r"<!-- example: response -->\s*```json\n(.*?)```", text, re.S)
    assert responses
    for block in responses:
        for line in block.strip().splitlines():
            assert list(json.loads(line)) == ["transaction", "status", "data", "error"]
    assert example("ring") ["event_type"] == "ring"


# --------------------------------------------------------------------------- links

DOCS = [CONFIG_DOC, MQTT_DOC, REPO / "docs" / "troubleshooting.md", REPO / "docs" / "security.md",
        REPO / "CHANGELOG.md"]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    for target in _LINK.findall(doc.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        assert linked.exists(), f"{doc.name}: broken link {target}"
        if anchor:
            assert anchor in heading_anchors(linked), f"{doc.name}: no heading for {target}"
