"""The schema of the whole file: every key of the contract with its default."""
from __future__ import annotations

from pathlib import Path

import voluptuous as vol

from nuki2mqtt.config.sections import (
    Devices,
    Key,
    ListOf,
    OptionalSection,
    Section,
    SwitchableSection,
)
from nuki2mqtt.config.validators import (
    advertise_url,
    base_url,
    boolean,
    device_topic,
    existing_file,
    host,
    integer,
    log_level,
    optional_secret,
    optional_text,
    poll_interval,
    port,
    positive_seconds,
    protocol,
    secret,
    text,
    token_mode,
    topic,
)
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, TokenMode


def config_schema(base_dir: Path | None) -> Section:
    """The whole file; ``base_dir`` locates relative TLS file names."""
    tls_file = existing_file(base_dir)
    tls = Section(
        [
            Key("ca_certs", tls_file, None),
            Key("certfile", tls_file, None),
            Key("keyfile", tls_file, None),
            Key("insecure", boolean, False),
        ],
        "a mapping (ca_certs, certfile, keyfile, insecure) or true",
    )
    mqtt = Section(
        [
            Key("host", host, "localhost"),
            Key("port", port),  # default depends on tls: see _build_config
            Key("username", optional_text, None),
            Key("password", optional_secret, None),
            Key("client_id", text, "nuki2mqtt"),
            Key("base_topic", topic, "nuki2mqtt"),
            Key("protocol", protocol, "5"),
            Key("tls", OptionalSection(tls, allow_bool=True), None),
            Key("keepalive", vol.All(integer, vol.Range(min=1, max=65535)), 60),
        ]
    )
    homeassistant = Section(
        [
            Key("enabled", boolean, True),
            Key("discovery_prefix", topic, "homeassistant"),
            Key("status_topic", topic, "homeassistant/status"),
        ]
    )
    bridge = Section(
        [
            Key("host", host, required=True),
            Key("port", port, DEFAULT_BRIDGE_PORT),
            Key("token", secret, required=True),
            Key("token_mode", token_mode, TokenMode.ENCRYPTED.value),
            Key("poll_interval", poll_interval, 60),
            Key("callbacks", boolean, True),
            Key("allow_maintenance", boolean, False),
        ],
        "a mapping with host, token, ...",
    )
    oauth = Section(
        [
            Key("client_id", text, required=True),
            Key("client_secret", secret, required=True),
            Key("refresh_token", secret, required=True),
            Key("token_file", optional_text, None),
        ]
    )
    webhook = Section([Key("secret", secret, required=True)])
    web = Section(
        [
            Key("api_token", optional_secret, None),
            Key("oauth", OptionalSection(oauth), None),
            Key("base_url", base_url, "https://api.nuki.io"),
            Key("poll_interval", poll_interval, 60),
            Key("webhook", OptionalSection(webhook), None),
        ]
    )
    server = Section(
        [
            Key("host", text, "0.0.0.0"),
            Key("port", port, 8321),
            Key("advertise_url", advertise_url, None),
        ]
    )
    device = Section(
        [Key("topic", device_topic, None), Key("name", optional_text, None)],
        "a mapping with topic and/or name",
    )
    commands = Section([Key("ttl", positive_seconds, 30)])
    return Section(
        [
            Key("mqtt", mqtt, {}),
            Key("homeassistant", SwitchableSection(homeassistant), {}),
            Key("bridges", ListOf(bridge, "a list of bridges, one '- host: ...' entry each"), []),
            Key("web", OptionalSection(web), None),
            Key("server", server, {}),
            Key("devices", Devices(device), {}),
            Key("commands", commands, {}),
            Key("log_level", log_level, "info"),
        ]
    )
