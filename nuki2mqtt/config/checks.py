"""Checks across keys (topics that overlap, a bridge listed twice, ...).

Each check skips values that failed validation: those are already reported.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping


def _section(tree: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = tree.get(name)
    return value if isinstance(value, Mapping) else {}


#: A cross-check finding: its path, its message, and the other key paths it read
#: (a finding that read a value emptied by an unset variable is not reported).
Finding = tuple[tuple[Any, ...], str, tuple[tuple[Any, ...], ...]]


def cross_checks(tree: Mapping[str, Any]) -> list[Finding]:
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


def _check_topics(tree: Mapping[str, Any]) -> Iterator[Finding]:
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


def _check_mqtt_credentials(mqtt: Mapping[str, Any]) -> Iterator[Finding]:
    """paho sends no credentials at all without a user name, so the password would be dropped."""
    if mqtt.get("password") and "username" in mqtt and not mqtt["username"]:
        yield (
            ("mqtt", "password"),
            "needs mqtt.username too (without a user name no credentials are sent)",
            (("mqtt", "username"),),
        )


def _check_tls(tls: Mapping[str, Any]) -> Iterator[Finding]:
    if tls.get("keyfile") and "certfile" in tls and not tls["certfile"]:
        path = ("mqtt", "tls")
        yield path + ("keyfile",), "needs mqtt.tls.certfile (the client certificate) too", (path + ("certfile",),)


def _check_bridges(bridges: Any) -> Iterator[Finding]:
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


def _check_web(tree: Mapping[str, Any]) -> Iterator[Finding]:
    web = tree.get("web")
    if not isinstance(web, Mapping) or "api_token" not in web or "oauth" not in web:
        return
    inputs = (("web", "api_token"), ("web", "oauth"))
    if web["api_token"] and web["oauth"]:
        yield ("web",), "has both api_token and oauth; keep exactly one", inputs
    elif not web["api_token"] and not web["oauth"]:
        yield ("web",), "needs exactly one of api_token or oauth (client_id, client_secret, refresh_token)", inputs


def _check_device_topics(devices: Mapping[str, Any]) -> Iterator[Finding]:
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
