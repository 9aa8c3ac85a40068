"""The configuration layer: defaults, every check, ${VAR}, secrets, error reporting."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from nuki2mqtt.config import (
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
    load_config,
    parse_config,
    resolve_config_path,
)
from nuki2mqtt.const import TokenMode

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.yaml"
EXAMPLE_ENV = {
    "MQTT_PASSWORD": "example-mqtt-pw",
    "NUKI_BRIDGE_TOKEN": "example-bridge-token",
    "NUKI_WEB_TOKEN": "example-web-token",
    "NUKI_WEBHOOK_SECRET": "example-webhook-secret",
}
BRIDGE = {"host": "192.168.1.50", "token": "abcdef"}

# Distinctive secret values: none may ever show up in an error, repr or str.
SECRETS = {
    "MQTT_PASSWORD": "Mqtt-Pw-7f3a9c",
    "NUKI_BRIDGE_TOKEN": "Bridge-Tok-51e0b2",
    "NUKI_WEB_TOKEN": "Web-Tok-a8d4e6",
    "CLIENT_SECRET": "Client-Sec-3b7e1f",
    "REFRESH_TOKEN": "Refresh-Tok-c2f9a0",
    "WEBHOOK_SECRET": "Hook-Sec-9d1c44",
}


def issues(data: Any, env: dict[str, str] | None = None, **kwargs: Any) -> list[str]:
    """The issue lines of an invalid configuration."""
    with pytest.raises(ConfigError) as info:
        parse_config(data, env or {}, **kwargs)
    lines = [str(issue) for issue in info.value.issues]
    assert str(info.value) == "\n".join(lines)
    return lines


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- defaults


def test_empty_file_gives_all_defaults_and_no_bridges(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), env={})
    assert config.mqtt == MqttConfig()
    assert config.homeassistant == HomeAssistantConfig()
    assert config.bridges == ()
    assert config.web is None
    assert config.server == ServerConfig()
    assert dict(config.devices) == {}
    assert config.commands == CommandsConfig()
    assert config.log_level == "info"


def test_comment_only_file_is_empty(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing yet\n"), env={}).bridges == ()


def test_every_default_value() -> None:
    config = parse_config({"bridges": [BRIDGE], "web": {"api_token": "t"}}, env={})
    mqtt = config.mqtt
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == ("localhost", 1883, None, None)
    assert (mqtt.client_id, mqtt.base_topic, mqtt.protocol, mqtt.tls, mqtt.keepalive) == (
        "nuki2mqtt",
        "nuki2mqtt",
        "5",
        None,
        60,
    )
    ha = config.homeassistant
    assert (ha.enabled, ha.discovery_prefix, ha.status_topic) == (True, "homeassistant", "homeassistant/status")
    assert config.bridges == (
        BridgeConfig(
            host="192.168.1.50",
            token="abcdef",
            port=8080,
            token_mode=TokenMode.ENCRYPTED,
            poll_interval=60,
            callbacks=True,
            allow_maintenance=False,
        ),
    )
    assert config.web == WebConfig(
        api_token="t", oauth=None, base_url="https://api.nuki.io", poll_interval=60, webhook=None
    )
    assert (config.server.host, config.server.port, config.server.advertise_url) == ("0.0.0.0", 8321, None)
    assert config.commands.ttl == 30
    assert config.log_level == "info"


def test_null_sections_mean_defaults() -> None:
    config = parse_config(
        {"mqtt": None, "homeassistant": None, "bridges": None, "web": None, "server": None, "devices": None,
         "commands": None},
        env={},
    )
    assert config == parse_config({}, env={})


def test_tls_default_port_is_8883(tmp_path: Path) -> None:
    ca = write(tmp_path, "ca", "ca.pem")
    config = parse_config({"mqtt": {"tls": {"ca_certs": str(ca)}}}, env={})
    assert config.mqtt.port == 8883
    assert config.mqtt.tls == TlsConfig(ca_certs=str(ca), certfile=None, keyfile=None, insecure=False)
    assert parse_config({"mqtt": {"tls": {}, "port": 1884}}, env={}).mqtt.port == 1884
    assert parse_config({"mqtt": {"tls": True}}, env={}).mqtt.port == 8883
    assert parse_config({"mqtt": {"tls": False}}, env={}).mqtt.tls is None


def test_tls_files_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, "cert", "client.crt")
    write(tmp_path, "key", "client.key")
    path = write(tmp_path, "mqtt:\n  tls: {certfile: client.crt, keyfile: client.key, insecure: true}\n")
    tls = load_config(path, env={}).mqtt.tls
    assert tls == TlsConfig(None, str(tmp_path / "client.crt"), str(tmp_path / "client.key"), True)


def test_homeassistant_switch() -> None:
    assert parse_config({"homeassistant": False}, env={}).homeassistant.enabled is False
    assert parse_config({"homeassistant": True}, env={}).homeassistant == HomeAssistantConfig()
    assert parse_config({"homeassistant": {"enabled": "off"}}, env={}).homeassistant.enabled is False


def test_all_keys_given() -> None:
    config = parse_config(
        {
            "mqtt": {"host": "broker", "port": 1884, "username": "u", "password": "p", "client_id": "c",
                     "base_topic": "nuki", "protocol": "3.1.1", "keepalive": 30},
            "homeassistant": {"enabled": False, "discovery_prefix": "ha", "status_topic": "ha/status"},
            "bridges": [{**BRIDGE, "port": 8081, "token_mode": "Hashed", "poll_interval": 0, "callbacks": False,
                         "allow_maintenance": True}],
            "web": {"oauth": {"client_id": "id", "client_secret": "s", "refresh_token": "r", "token_file": "t.json"},
                    "base_url": "http://127.0.0.1:9000/", "poll_interval": 5, "webhook": {"secret": "w"}},
            "server": {"host": "127.0.0.1", "port": 9999, "advertise_url": "http://10.0.0.2:9999/"},
            "devices": {"1a2b3c4d": {"topic": "front_door", "name": "Front door"}},
            "commands": {"ttl": 2.5},
            "log_level": "DEBUG",
        },
        env={},
    )
    assert config.mqtt == MqttConfig("broker", 1884, "u", "p", "c", "nuki", "3.1.1", None, 30)
    assert config.homeassistant == HomeAssistantConfig(False, "ha", "ha/status")
    assert config.bridges[0] == BridgeConfig("192.168.1.50", "abcdef", 8081, TokenMode.HASHED, 0, False, True)
    assert config.web == WebConfig(
        None, OAuthConfig("id", "s", "r", "t.json"), "http://127.0.0.1:9000", 5, WebhookConfig("w")
    )
    assert config.server == ServerConfig("127.0.0.1", 9999, "http://10.0.0.2:9999")
    assert config.devices == {"1A2B3C4D": DeviceConfig("front_door", "Front door")}
    assert config.commands.ttl == 2.5
    assert config.log_level == "debug"


def test_config_is_immutable() -> None:
    config = parse_config({"devices": {"1A2B3C4D": {"name": "x"}}}, env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.log_level = "debug"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.devices["00000001"] = DeviceConfig()  # type: ignore[index]


# --------------------------------------------------------------------------- single keys


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, "5"), ("5", "5"), ("5.0", "5"), (5.0, "5"), ("3.1.1", "3.1.1"), ("311", "3.1.1"), (311, "3.1.1")],
)
def test_protocol_normalized(value: Any, expected: str) -> None:
    assert parse_config({"mqtt": {"protocol": value}}, env={}).mqtt.protocol == expected


@pytest.mark.parametrize("value", [4, "3.1", 3.1, True, "mqttv5", "", [5]])
def test_protocol_invalid(value: Any) -> None:
    assert issues({"mqtt": {"protocol": value}}) == ["mqtt.protocol: must be 5 or 3.1.1"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "value must be at least 1"),
        (65536, "value must be at most 65535"),
        ("http", "expected an integer"),
        (True, "expected an integer"),
        (80.5, "expected an integer"),
    ],
)
def test_ports(value: Any, message: str) -> None:
    assert issues({"mqtt": {"port": value}}) == [f"mqtt.port: {message}"]
    assert issues({"server": {"port": value}}) == [f"server.port: {message}"]
    assert issues({"bridges": [{**BRIDGE, "port": value}]}) == [f"bridges.0.port: {message}"]


def test_server_port_message_as_in_the_contract() -> None:
    assert issues({"server": {"port": 70000}}) == ["server.port: value must be at most 65535"]


def test_port_from_a_string() -> None:
    assert parse_config({"mqtt": {"port": "1884"}}, env={}).mqtt.port == 1884


def test_bridge_required_keys() -> None:
    assert issues({"bridges": [{"host": "h"}, {"token": "t"}]}) == [
        "bridges.0.token: required key not provided",
        "bridges.1.host: required key not provided",
    ]


def test_bridges_must_be_a_list_of_mappings() -> None:
    assert issues({"bridges": {"host": "h"}}) == [
        "bridges: expected a list of bridges, one '- host: ...' entry each"
    ]
    assert issues({"bridges": ["192.168.1.50"]}) == ["bridges.0: expected a mapping with host, token, ..."]


@pytest.mark.parametrize("mode", ["encrypted", "hashed", "plain", "PLAIN"])
def test_token_modes(mode: str) -> None:
    bridge = parse_config({"bridges": [{**BRIDGE, "token_mode": mode}]}, env={}).bridges[0]
    assert bridge.token_mode is TokenMode(mode.lower())


def test_token_mode_invalid() -> None:
    assert issues({"bridges": [{**BRIDGE, "token_mode": "sha256"}]}) == [
        "bridges.0.token_mode: must be one of encrypted, hashed, plain"
    ]


@pytest.mark.parametrize("seconds", [0, 5, 5.5, 3600, "30"])
def test_poll_interval_valid(seconds: Any) -> None:
    config = parse_config({"bridges": [{**BRIDGE, "poll_interval": seconds}], "web": {"api_token": "t",
                                                                                      "poll_interval": seconds}},
                          env={})
    assert config.bridges[0].poll_interval == float(seconds)
    assert config.web is not None and config.web.poll_interval == float(seconds)


@pytest.mark.parametrize("seconds", [1, 4.9, -1])
def test_poll_interval_zero_or_at_least_five(seconds: float) -> None:
    message = "must be 0 (no timer) or at least 5 seconds"
    assert issues({"bridges": [{**BRIDGE, "poll_interval": seconds}], "web": {"api_token": "t",
                                                                              "poll_interval": seconds}}) == [
        f"bridges.0.poll_interval: {message}",
        f"web.poll_interval: {message}",
    ]


def test_poll_interval_not_a_number() -> None:
    assert issues({"bridges": [{**BRIDGE, "poll_interval": "often"}]}) == [
        "bridges.0.poll_interval: expected a number"
    ]


@pytest.mark.parametrize("ttl", [0, -5])
def test_commands_ttl_positive(ttl: float) -> None:
    assert issues({"commands": {"ttl": ttl}}) == ["commands.ttl: must be greater than 0 seconds"]


def test_commands_ttl_fraction() -> None:
    assert parse_config({"commands": {"ttl": 0.5}}, env={}).commands.ttl == 0.5


@pytest.mark.parametrize(("value", "level"), [("debug", "debug"), ("INFO", "info"), ("warn", "warning"),
                                               ("Warning", "warning"), ("error", "error")])
def test_log_levels(value: str, level: str) -> None:
    assert parse_config({"log_level": value}, env={}).log_level == level


@pytest.mark.parametrize("value", ["verbose", "critical", 10])
def test_log_level_invalid(value: Any) -> None:
    assert issues({"log_level": value}) == ["log_level: must be one of debug, info, warning, error"]


@pytest.mark.parametrize(("value", "expected"), [("yes", True), ("off", False), ("TRUE", True), ("0", False)])
def test_booleans_from_strings(value: str, expected: bool) -> None:
    assert parse_config({"bridges": [{**BRIDGE, "callbacks": value}]}, env={}).bridges[0].callbacks is expected


def test_boolean_invalid() -> None:
    assert issues({"bridges": [{**BRIDGE, "allow_maintenance": "maybe"}]}) == [
        "bridges.0.allow_maintenance: expected true or false"
    ]


def test_numbers_where_strings_belong_ask_for_quotes() -> None:
    assert issues({"bridges": [{"host": "h", "token": 123456}]}) == [
        "bridges.0.token: expected a string; put the value in quotes (YAML read it as a number)"
    ]


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://192.168.1.50", "expected a host name or IP address only, without http:// or a path"),
        ("192.168.1.50:8080", "expected a host name or IP address only; give the port in 'port'"),
        ("", "must not be empty"),
        ("my bridge", "must not contain spaces"),
    ],
)
def test_bridge_host_invalid(host: str, message: str) -> None:
    assert issues({"bridges": [{**BRIDGE, "host": host}]}) == [f"bridges.0.host: {message}"]


def test_ipv6_host() -> None:
    assert parse_config({"bridges": [{**BRIDGE, "host": "fe80::1"}]}, env={}).bridges[0].host == "fe80::1"


def test_empty_optional_strings_are_unset() -> None:
    config = parse_config({"mqtt": {"username": "", "password": ""}, "server": {"advertise_url": ""}}, env={})
    assert (config.mqtt.username, config.mqtt.password, config.server.advertise_url) == (None, None, None)


# --------------------------------------------------------------------------- cross checks


def test_base_topic_must_differ_from_discovery_prefix() -> None:
    assert issues({"mqtt": {"base_topic": "homeassistant"}}) == [
        "mqtt.base_topic: must differ from homeassistant.discovery_prefix ('homeassistant')"
    ]


def test_base_topic_not_inside_discovery_prefix() -> None:
    assert issues({"mqtt": {"base_topic": "ha/nuki"}, "homeassistant": {"discovery_prefix": "ha"}}) == [
        "mqtt.base_topic: must not be inside homeassistant.discovery_prefix ('ha')"
    ]


def test_discovery_prefix_that_merely_starts_alike_is_fine() -> None:
    config = parse_config({"mqtt": {"base_topic": "homeassistant2"}}, env={})
    assert config.mqtt.base_topic == "homeassistant2"


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("nuki/+", "must not contain the MQTT wildcards + or #"),
        ("nuki/#", "must not contain the MQTT wildcards + or #"),
        ("/nuki", "must not start or end with /"),
        ("nuki/", "must not start or end with /"),
        ("a//b", "must not contain an empty level (//)"),
        ("", "must not be empty"),
    ],
)
def test_topic_syntax(topic: str, message: str) -> None:
    assert issues({"mqtt": {"base_topic": topic}}) == [f"mqtt.base_topic: {message}"]
    assert issues({"homeassistant": {"discovery_prefix": topic}}) == [f"homeassistant.discovery_prefix: {message}"]


def test_status_topic_not_inside_base_topic() -> None:
    assert issues({"homeassistant": {"status_topic": "nuki2mqtt/status"}}) == [
        "homeassistant.status_topic: must not be inside mqtt.base_topic ('nuki2mqtt')"
    ]


def test_device_ids_normalized_to_upper_case() -> None:
    config = parse_config({"devices": {"1a2b3c4d": {"topic": "front_door"}, "0000abcd": {"name": "Back"}}}, env={})
    assert set(config.devices) == {"1A2B3C4D", "0000ABCD"}
    assert config.device("1A2B3C4D") == DeviceConfig(topic="front_door", name=None)
    assert config.device("1a2b3c4d").topic == "front_door"
    assert config.device("0000ABCD").name == "Back"
    assert config.device("FFFFFFFF") == DeviceConfig()


def test_decimal_nuki_id_suggests_hex() -> None:
    assert issues({"devices": {"439041101": {"topic": "front_door"}}}) == [
        'devices.439041101: device ids are 8 hex digits; this looks like the decimal Nuki ID, write "1A2B3C4D"'
    ]
    assert issues({"devices": {439041101: {"topic": "front_door"}}}) == [
        'devices.439041101: device ids are 8 hex digits in quotes; as a decimal Nuki ID this is "1A2B3C4D"'
    ]


def test_unquoted_eight_digit_id_is_ambiguous() -> None:
    assert issues({"devices": {12345678: {}}}) == [
        'devices.12345678: device ids are 8 hex digits in quotes; as a decimal Nuki ID this is "00BC614E", '
        'and if it already is the hex id write "12345678"'
    ]


@pytest.mark.parametrize("key", ["1A2B3C4", "1A2B3C4DE", "front_door", "0x1A2B3C4D"])
def test_bad_device_ids(key: str) -> None:
    (line,) = issues({"devices": {key: {}}})
    assert line.startswith(f"devices.{key}: device ids are 8 hex digits")


def test_same_device_twice_in_different_case() -> None:
    assert issues({"devices": {"1A2B3C4D": {}, "1a2b3c4d": {}}}) == [
        "devices.1a2b3c4d: same device as '1A2B3C4D' (device ids ignore case)"
    ]


@pytest.mark.parametrize("topic", ["front/door", "front+", "door#"])
def test_device_topic_is_one_level(topic: str) -> None:
    assert issues({"devices": {"1A2B3C4D": {"topic": topic}}}) == [
        "devices.1A2B3C4D.topic: must be a single topic level: no /, + or #"
    ]


@pytest.mark.parametrize("topic", ["bridges", "status", "request", "bridge_1234"])
def test_device_topic_not_reserved(topic: str) -> None:
    (line,) = issues({"devices": {"1A2B3C4D": {"topic": topic}}})
    assert line == (
        f"devices.1A2B3C4D.topic: {topic!r} is used by the gateway itself; "
        "reserved: bridges, devices, request, response, status, bridge_..."
    )


def test_device_topics_unique() -> None:
    assert issues({"devices": {"1A2B3C4D": {"topic": "door"}, "1A2B3C4E": {"topic": "door"}}}) == [
        "devices.1A2B3C4E.topic: topic 'door' is already used by devices.1A2B3C4D"
    ]


def test_device_topic_may_not_take_another_devices_id() -> None:
    assert issues({"devices": {"1A2B3C4D": {"name": "x"}, "1A2B3C4E": {"topic": "1A2B3C4D"}}}) == [
        "devices.1A2B3C4E.topic: topic '1A2B3C4D' is already used by devices.1A2B3C4D"
    ]


def test_unknown_device_key() -> None:
    assert issues({"devices": {"1A2B3C4D": {"topics": "x"}}}) == [
        "devices.1A2B3C4D.topics: unknown key 'topics' (did you mean 'topic'?)"
    ]


def test_duplicate_bridges() -> None:
    bridges = [BRIDGE, {**BRIDGE, "port": 8081}, {**BRIDGE, "host": "192.168.1.50".upper(), "token": "x"}]
    assert issues({"bridges": bridges}) == [
        "bridges.2: same bridge as bridges.0 (192.168.1.50:8080); list each bridge once"
    ]


def test_duplicate_bridge_names_differ_in_case() -> None:
    bridges = [{**BRIDGE, "host": "Bridge.local"}, {**BRIDGE, "host": "bridge.local"}]
    assert issues({"bridges": bridges}) == [
        "bridges.1: same bridge as bridges.0 (bridge.local:8080); list each bridge once"
    ]


def test_web_needs_a_credential() -> None:
    assert issues({"web": {}}) == [
        "web: needs exactly one of api_token or oauth (client_id, client_secret, refresh_token)"
    ]


def test_web_not_both_credentials() -> None:
    oauth = {"client_id": "i", "client_secret": "s", "refresh_token": "r"}
    assert issues({"web": {"api_token": "t", "oauth": oauth}}) == [
        "web: has both api_token and oauth; keep exactly one"
    ]


def test_web_oauth_required_keys() -> None:
    assert issues({"web": {"oauth": {"client_id": "i"}}}) == [
        "web.oauth.client_secret: required key not provided",
        "web.oauth.refresh_token: required key not provided",
    ]


def test_webhook_needs_secret() -> None:
    assert issues({"web": {"api_token": "t", "webhook": {}}}) == ["web.webhook.secret: required key not provided"]


def test_web_base_url() -> None:
    assert issues({"web": {"api_token": "t", "base_url": "ftp://api.nuki.io"}}) == [
        "web.base_url: must start with https:// or http://; e.g. https://api.nuki.io"
    ]


def test_tls_files_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    assert issues({"mqtt": {"tls": {"ca_certs": str(missing)}}}) == [f"mqtt.tls.ca_certs: file not found: {missing}"]
    assert issues({"mqtt": {"tls": {"certfile": "client.crt"}}}, base_dir=tmp_path) == [
        f"mqtt.tls.certfile: file not found: {tmp_path / 'client.crt'}"
    ]


def test_tls_keyfile_needs_certfile(tmp_path: Path) -> None:
    key = write(tmp_path, "key", "client.key")
    assert issues({"mqtt": {"tls": {"keyfile": str(key)}}}) == [
        "mqtt.tls.keyfile: needs mqtt.tls.certfile (the client certificate) too"
    ]


def test_password_needs_username() -> None:
    assert issues({"mqtt": {"password": "pw"}}) == [
        "mqtt.password: needs mqtt.username too (without a user name no credentials are sent)"
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://192.168.1.20:8321", "must start with http://"),
        ("192.168.1.20:8321", "must start with http://"),
        ("http://", "has no host"),
        ("http://host:99999", "is not a valid URL"),
        ("http://host/?a=1", "must not have a query (?) or fragment (#)"),
    ],
)
def test_advertise_url_plain_http(url: str, message: str) -> None:
    (line,) = issues({"server": {"advertise_url": url}})
    assert line.startswith(f"server.advertise_url: {message}")


def test_advertise_url_fits_the_bridge_callback_limit() -> None:
    url = "http://host/" + "x" * 240
    assert issues({"server": {"advertise_url": url}}) == [
        "server.advertise_url: too long: the bridge accepts callback URLs of at most 254 characters"
    ]


def test_advertise_url_with_path_prefix() -> None:
    config = parse_config({"server": {"advertise_url": "http://proxy.lan/nuki/"}}, env={})
    assert config.server.advertise_url == "http://proxy.lan/nuki"


def test_advertise_url_scheme_in_capitals_is_normalized() -> None:
    """The bridge, and the registration check, know the scheme as ``http://``."""
    config = parse_config({"server": {"advertise_url": "HTTP://192.168.1.20:8321"}}, env={})
    assert config.server.advertise_url == "http://192.168.1.20:8321"


# --------------------------------------------------------------------------- unknown keys, many errors


def test_unknown_keys_suggest_the_right_one() -> None:
    assert issues({"bridges": [{**BRIDGE, "polll_interval": 30}]}) == [
        "bridges.0.polll_interval: unknown key 'polll_interval' (did you mean 'poll_interval'?)"
    ]
    assert issues({"mqqt": {}}) == ["mqqt: unknown key 'mqqt' (did you mean 'mqtt'?)"]
    assert issues({"mqtt": {"tls": {"ca_cert": None}}}) == [
        "mqtt.tls.ca_cert: unknown key 'ca_cert' (did you mean 'ca_certs'?)"
    ]


def test_unknown_key_without_a_close_match_lists_the_known_ones() -> None:
    assert issues({"commands": {"zzz": 1}}) == ["commands.zzz: unknown key 'zzz' (known keys: ttl)"]


def test_many_errors_reported_at_once_in_file_order() -> None:
    data = {
        "mqtt": {"port": 0, "base_topic": "homeassistant", "protocol": 4, "hots": "x"},
        "bridges": [{"host": "h", "token_mode": "x"}, {"host": "h", "token": "t", "poll_interval": 2}],
        "web": {"base_url": "ftp://x"},
        "server": {"port": 65536, "advertise_url": "https://x"},
        "devices": {"439041101": {}, "1A2B3C4D": {"topic": "a/b"}},
        "commands": {"ttl": 0},
        "log_level": "loud",
    }
    assert issues(data) == [
        "mqtt.port: value must be at least 1",
        "mqtt.base_topic: must differ from homeassistant.discovery_prefix ('homeassistant')",
        "mqtt.protocol: must be 5 or 3.1.1",
        "mqtt.hots: unknown key 'hots' (did you mean 'host'?)",
        "bridges.0.token: required key not provided",
        "bridges.0.token_mode: must be one of encrypted, hashed, plain",
        "bridges.1: same bridge as bridges.0 (h:8080); list each bridge once",
        "bridges.1.poll_interval: must be 0 (no timer) or at least 5 seconds",
        "web: needs exactly one of api_token or oauth (client_id, client_secret, refresh_token)",
        "web.base_url: must start with https:// or http://; e.g. https://api.nuki.io",
        "server.port: value must be at most 65535",
        "server.advertise_url: must start with http://; bridges can only call plain http, "
        "e.g. http://192.168.1.20:8321",
        'devices.439041101: device ids are 8 hex digits; this looks like the decimal Nuki ID, write "1A2B3C4D"',
        "devices.1A2B3C4D.topic: must be a single topic level: no /, + or #",
        "commands.ttl: must be greater than 0 seconds",
        "log_level: must be one of debug, info, warning, error",
    ]


def test_cross_checks_run_next_to_schema_errors() -> None:
    lines = issues({"bridges": [{**BRIDGE, "port": "x"}, BRIDGE, BRIDGE]})
    assert lines == [
        "bridges.0.port: expected an integer",
        "bridges.2: same bridge as bridges.1 (192.168.1.50:8080); list each bridge once",
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert issues(["mqtt"]) == ["config: the file must hold a mapping of sections (mqtt:, bridges:, ...)"]


def test_null_means_the_default_and_required_keys_need_a_value() -> None:
    config = parse_config({"mqtt": {"port": None, "protocol": None}, "devices": {"1A2B3C4D": {"topic": None}}},
                          env={})
    assert (config.mqtt.port, config.mqtt.protocol, config.device("1A2B3C4D").topic) == (1883, "5", None)
    assert issues({"bridges": [{"host": None, "token": None}]}) == [
        "bridges.0.host: must not be empty",
        "bridges.0.token: must not be empty",
    ]


def test_section_must_be_a_mapping() -> None:
    assert issues({"mqtt": "localhost"}) == ["mqtt: expected a mapping of keys and values"]


# --------------------------------------------------------------------------- ${VAR}


def test_env_substitution_whole_and_inside_strings() -> None:
    env = {"BROKER": "mqtt.lan", "PORT": "1884", "PREFIX": "home", "TOKEN": "s3cret", "CB": "false"}
    config = parse_config(
        {
            "mqtt": {"host": "${BROKER}", "port": "${PORT}", "base_topic": "${PREFIX}/nuki"},
            "bridges": [{"host": "192.168.1.50", "token": "${TOKEN}", "callbacks": "${CB}"}],
        },
        env=env,
    )
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.base_topic) == ("mqtt.lan", 1884, "home/nuki")
    assert config.bridges[0].token == "s3cret"
    assert config.bridges[0].callbacks is False


def test_env_default_syntax() -> None:
    data = {"mqtt": {"host": "${BROKER:-localhost}", "client_id": "nuki-${SITE:-home}"}}
    assert parse_config(data, env={}).mqtt.host == "localhost"
    assert parse_config(data, env={"BROKER": ""}).mqtt.host == "localhost"
    config = parse_config(data, env={"BROKER": "b", "SITE": "lake"})
    assert (config.mqtt.host, config.mqtt.client_id) == ("b", "nuki-lake")


def test_env_literal_dollar_brace() -> None:
    config = parse_config({"mqtt": {"username": "u", "password": "a$${B}c"}}, env={})
    assert config.mqtt.password == "a${B}c"


def test_env_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUKI2MQTT_TEST_HOST", "from-environ")
    assert parse_config({"mqtt": {"host": "${NUKI2MQTT_TEST_HOST}"}}).mqtt.host == "from-environ"


def test_unset_variable_is_reported_once_at_its_key() -> None:
    data = {"mqtt": {"host": "${BROKER}"}, "bridges": [{"host": "h", "token": "x-${MISSING_TOKEN}-y"}]}
    assert issues(data) == [
        "mqtt.host: environment variable BROKER is not set (set it, or write ${BROKER:-default})",
        "bridges.0.token: environment variable MISSING_TOKEN is not set (set it, or write ${MISSING_TOKEN:-default})",
    ]


def test_unset_variable_does_not_trigger_follow_up_errors() -> None:
    data = {"mqtt": {"username": "u", "password": "${MQTT_PASSWORD}"}, "web": {"api_token": "${NUKI_WEB_TOKEN}"}}
    assert issues(data) == [
        "mqtt.password: environment variable MQTT_PASSWORD is not set (set it, or write ${MQTT_PASSWORD:-default})",
        "web.api_token: environment variable NUKI_WEB_TOKEN is not set (set it, or write ${NUKI_WEB_TOKEN:-default})",
    ]


def test_unset_variable_under_an_unknown_key_reports_the_key() -> None:
    assert issues({"mqtt": {"passwort": "${MQTT_PASSWORD}"}}) == [
        "mqtt.passwort: unknown key 'passwort' (did you mean 'password'?)"
    ]


# --------------------------------------------------------------------------- secrets


def secret_config() -> dict[str, Any]:
    return {
        "mqtt": {"username": "u", "password": "${MQTT_PASSWORD}"},
        "bridges": [{"host": "192.168.1.50", "token": "${NUKI_BRIDGE_TOKEN}"}],
        "web": {"api_token": "${NUKI_WEB_TOKEN}", "webhook": {"secret": "${WEBHOOK_SECRET}"}},
    }


def assert_no_secret(text: str) -> None:
    for secret in SECRETS.values():
        assert secret not in text


def test_secrets_not_in_repr_or_str() -> None:
    config = parse_config(secret_config(), env=SECRETS)
    assert config.bridges[0].token == SECRETS["NUKI_BRIDGE_TOKEN"]
    assert config.mqtt.password == SECRETS["MQTT_PASSWORD"]
    assert_no_secret(repr(config) + str(config) + repr(config.bridges) + repr(config.web) + repr(config.mqtt))
    oauth = parse_config(
        {"web": {"oauth": {"client_id": "i", "client_secret": "${CLIENT_SECRET}",
                           "refresh_token": "${REFRESH_TOKEN}"}}},
        env=SECRETS,
    ).web
    assert oauth is not None and oauth.oauth is not None
    assert oauth.oauth.client_secret == SECRETS["CLIENT_SECRET"]
    assert_no_secret(repr(oauth) + str(oauth.oauth))


@pytest.mark.parametrize(
    "mutate",
    [
        # a bad type next to a secret
        lambda d: d["bridges"][0].update(port="x", token_mode=7),
        lambda d: d["mqtt"].update(port=[1], keepalive="slow"),
        lambda d: d["web"].update(poll_interval=1, base_url=7),
        # a secret in the wrong place
        lambda d: d["mqtt"].update(port="${MQTT_PASSWORD}", protocol="${NUKI_BRIDGE_TOKEN}"),
        lambda d: d.update(log_level="${NUKI_WEB_TOKEN}", commands={"ttl": "${WEBHOOK_SECRET}"}),
        lambda d: d["bridges"][0].update(host="${NUKI_BRIDGE_TOKEN}/x", token_mode="${NUKI_BRIDGE_TOKEN}"),
        lambda d: d["bridges"][0].update(callbacks="${CLIENT_SECRET}", poll_interval="${REFRESH_TOKEN}"),
        lambda d: d["mqtt"].update(base_topic="${MQTT_PASSWORD}/#"),
        lambda d: d.update(server={"advertise_url": "https://${NUKI_WEB_TOKEN}@x"}),
        lambda d: d.update(devices={"1A2B3C4D": {"topic": "${WEBHOOK_SECRET}/x"}}),
        lambda d: d["web"].update(oauth={"client_id": 5, "client_secret": "${CLIENT_SECRET}",
                                         "refresh_token": "${REFRESH_TOKEN}"}),
        lambda d: d.update(mqtt={"pasword": "${MQTT_PASSWORD}"}),
        lambda d: d.update(bridges=["${NUKI_BRIDGE_TOKEN}"], web="${NUKI_WEB_TOKEN}"),
    ],
)
def test_secrets_never_in_error_messages(mutate: Any) -> None:
    data = secret_config()
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=SECRETS)
    assert info.value.issues
    assert_no_secret(str(info.value) + repr(info.value.issues) + repr(info.value))


def test_secret_on_a_yaml_syntax_error_line_is_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, f'mqtt:\n  password: "{SECRETS["MQTT_PASSWORD"]}\n  port: [1\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert_no_secret(str(info.value))
    path = write(tmp_path, f"mqtt:\n  password: {SECRETS['MQTT_PASSWORD']}: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert_no_secret(str(info.value))


# --------------------------------------------------------------------------- files


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (issue,) = info.value.issues
    assert issue.path == "config"
    assert str(path) in issue.message and "config.example.yaml" in issue.message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={})
    assert [str(i) for i in info.value.issues] == [f"config: {tmp_path} is a directory, not a configuration file"]


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  host: localhost\n   port: 1883\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (issue,) = info.value.issues
    assert issue.path == "config"
    assert re.fullmatch(rf"invalid YAML in {re.escape(str(path))}, line 3, column \d+: .+", issue.message)


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "mqtt:\n  port: 1883\n  port: 1884\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert [str(i) for i in info.value.issues] == [
        f"config: invalid YAML in {path}, line 3, column 3: duplicate key 'port'"
    ]


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    text = "x-bridge: &b {port: 8081, token: t}\nbridges:\n  - <<: *b\n    host: a\n    port: 8082\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:  # x-bridge is an unknown key; the merge itself is fine
        load_config(path, env={})
    assert [str(i) for i in info.value.issues] == ["x-bridge: unknown key 'x-bridge' (did you mean 'bridges'?)"]


def test_config_issue_and_error_text() -> None:
    issue = ConfigIssue("mqtt.port", "value must be at most 65535")
    assert str(issue) == "mqtt.port: value must be at most 65535"
    error = ConfigError([issue, ConfigIssue("log_level", "x")])
    assert str(error) == "mqtt.port: value must be at most 65535\nlog_level: x"
    assert error.issues[0] is issue


def test_resolve_config_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUKI2MQTT_CONFIG", raising=False)
    assert resolve_config_path(None) == Path("config.yaml")
    monkeypatch.setenv("NUKI2MQTT_CONFIG", "/etc/nuki2mqtt/config.yaml")
    assert resolve_config_path(None) == Path("/etc/nuki2mqtt/config.yaml")
    assert resolve_config_path("other.yaml") == Path("other.yaml")


# --------------------------------------------------------------------------- the example


def test_example_config_loads_with_its_variables() -> None:
    config = load_config(EXAMPLE, env=EXAMPLE_ENV)
    assert config.mqtt.password == "example-mqtt-pw"
    assert config.bridges[0].token == "example-bridge-token"
    assert config.web is not None and config.web.api_token == "example-web-token"
    assert config.web.webhook == WebhookConfig("example-webhook-secret")
    assert config.device("1A2B3C4D") == DeviceConfig(topic="front_door", name="Front door")
    # the example shows the defaults
    defaults = parse_config({"bridges": [BRIDGE], "web": {"api_token": "t"}}, env={})
    assert dataclasses.replace(config.bridges[0], host=BRIDGE["host"], token=BRIDGE["token"]) == defaults.bridges[0]
    assert config.homeassistant == defaults.homeassistant
    assert config.server == defaults.server
    assert config.commands == defaults.commands
    assert config.log_level == defaults.log_level
    assert dataclasses.replace(config.mqtt, username=None, password=None) == defaults.mqtt


def test_example_config_names_its_variables_when_unset() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, env={})
    text = str(info.value)
    for name in EXAMPLE_ENV:
        assert f"environment variable {name} is not set" in text


def test_example_config_mentions_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = {field.name for cls in (MqttConfig, TlsConfig, HomeAssistantConfig, BridgeConfig, WebConfig,
                                   OAuthConfig, WebhookConfig, ServerConfig, DeviceConfig, CommandsConfig, Config)
            for field in dataclasses.fields(cls)}
    missing = [key for key in sorted(keys) if not re.search(rf"^\s*#?\s*-?\s*{key}:", text, re.MULTILINE)]
    assert missing == []
