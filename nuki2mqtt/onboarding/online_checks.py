"""``check-config --online``: each thing the gateway will need, tried from this machine.

Every check yields one :class:`CheckResult` with its key path, what was found, and for
anything not ``ok`` what to do. Checks never print a token or password.
"""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.bridge.errors import BridgeError
from nuki2mqtt.config import BridgeConfig, Config, MqttConfig, ServerConfig
from nuki2mqtt.const import MAX_CALLBACKS, TokenMode
from nuki2mqtt.onboarding.callback_address import (
    callback_url,
    docker_network_suspect,
    is_local_address,
    port_in_use,
    resolve,
    url_host_port,
)
from nuki2mqtt.onboarding.clock import (
    CLOCK_FIX,
    SKEW_LIMIT,
    SKEW_WARN,
    format_skew,
    skew_level,
)
from nuki2mqtt.onboarding.mqtt_probe import (
    BAD_CREDENTIALS,
    CLIENT_ID_REJECTED,
    NOT_AUTHORIZED,
    probe_broker,
)
from nuki2mqtt.onboarding.pairing import ENABLE_API_HINT
from nuki2mqtt.onboarding.probe import SKEW_FROM_DATE, BridgeProbe, probe_bridge

OK = "ok"
WARN = "warn"
FAILED = "failed"

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class CheckResult:
    status: str  # OK, WARN or FAILED
    subject: str  # the key path the check is about, e.g. bridges.0.token
    message: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.status:<7} {self.subject}: {self.message}"
        if self.fix and self.status != OK:
            text += f". Fix: {self.fix}"
        return text


def run_online_checks(config: Config, timeout: float = 5.0) -> Iterator[CheckResult]:
    """The broker, the listener port, then each bridge; results as they are known."""
    yield check_mqtt(config.mqtt, timeout)
    yield check_listener(config.server, timeout)
    for index, bridge in enumerate(config.bridges):
        yield from check_bridge(index, bridge, config.server, timeout)


# --------------------------------------------------------------------------- MQTT


def check_mqtt(cfg: MqttConfig, timeout: float) -> CheckResult:
    where = f"broker {cfg.host}:{cfg.port}"
    who = f"as user {cfg.username}" if cfg.username else "without a login"
    result = probe_broker(cfg, timeout)
    if result.ok:
        fallback = "; it refused MQTT 5, the gateway falls back the same way" if (
            cfg.protocol == "5" and result.protocol != "5") else ""
        return CheckResult(OK, "mqtt", f"{where} accepted the connection {who} (MQTT {result.protocol}{fallback})")
    if result.refused is not None:
        return CheckResult(FAILED, "mqtt", f"{where} refused the login {who}: {result.refused_text}",
                           _login_fix(cfg, result.refused))
    fix = ("check that the broker runs and that mqtt.host and mqtt.port point at it (in Docker Compose: "
           "the broker's service name, e.g. mosquitto)")
    if cfg.tls is not None or "TLS" in (result.error or ""):
        fix += "; with TLS also mqtt.tls (ca_certs must sign the broker's certificate) and the TLS port (8883)"
    return CheckResult(FAILED, "mqtt", f"cannot connect to {where}: {result.error}", fix)


def _login_fix(cfg: MqttConfig, reason: int) -> str:
    if reason == BAD_CREDENTIALS:
        return "check mqtt.username and mqtt.password (e.g. ${MQTT_PASSWORD} in the environment)"
    if reason == NOT_AUTHORIZED and not cfg.username:
        return "the broker wants a login: set mqtt.username and mqtt.password"
    if reason == NOT_AUTHORIZED:
        return "check mqtt.username and mqtt.password, and that the broker's password file or ACL allows this user"
    if reason == CLIENT_ID_REJECTED:
        return "choose another mqtt.client_id (letters and digits are safe)"
    return "see the broker's log for why it refused"


# --------------------------------------------------------------------------- listener


def check_listener(server: ServerConfig, timeout: float) -> CheckResult:
    where = f"{server.host}:{server.port}"
    busy = port_in_use(server.host, server.port)
    if busy is False:
        return CheckResult(OK, "server.port", f"{where} is free for the gateway's listener")
    if busy is True:
        health = _gateway_health(server, timeout)
        if health is not None:
            return CheckResult(OK, "server.port", f"a nuki2mqtt gateway already listens on {where} (health: {health})")
        return CheckResult(FAILED, "server.port", f"{where} is in use by another program",
                           "stop that program or choose another server.port (and the published port, if in Docker)")
    return CheckResult(FAILED, "server.host", f"cannot listen on {where}: {busy}",
                       "use 0.0.0.0 or an address of this machine for server.host, and a port above 1023")


def _gateway_health(server: ServerConfig, timeout: float) -> str | None:
    """The ``status`` of a nuki2mqtt /health answer on the port, or None if something else listens there."""
    host = "127.0.0.1" if server.host in _WILDCARD_HOSTS else server.host
    connection = http.client.HTTPConnection(host, server.port, timeout=min(timeout, 3.0))
    try:
        connection.request("GET", "/health")
        data = json.loads(connection.getresponse().read(65536))
        return str(data["status"]) if isinstance(data, dict) and "status" in data and "mqtt" in data else None
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return None
    finally:
        connection.close()


# --------------------------------------------------------------------------- bridges


def check_bridge(index: int, cfg: BridgeConfig, server: ServerConfig, timeout: float) -> Iterator[CheckResult]:
    key = f"bridges.{index}"
    probe = probe_bridge(cfg.host, cfg.port, cfg.token, cfg.token_mode, timeout=timeout)
    if not probe.reachable:
        yield CheckResult(
            FAILED, key, f"{probe.address} not reachable: {probe.error}; its other checks are skipped",
            f"check {key}.host and {key}.port (nuki2mqtt discover lists the bridges on this network), "
            "and that the bridge is powered and on the same network as this machine",
        )
        return
    yield CheckResult(OK, key, f"{probe.address} answers")
    yield _token_result(key, cfg, probe)
    if probe.info is not None:
        yield _clock_result(key, cfg, probe)
        yield _callbacks_result(key, cfg, server, str(probe.info.server_id), timeout)
    if cfg.callbacks:
        bridge_id = str(probe.info.server_id) if probe.info is not None else "<bridge id>"
        yield _callback_url_result(key, cfg, server, bridge_id)


def _token_result(key: str, cfg: BridgeConfig, probe: BridgeProbe) -> CheckResult:
    mode = cfg.token_mode.value
    subject = f"{key}.token"
    if probe.token_accepted and probe.info is not None:
        info = probe.info
        firmware = f", firmware {info.firmware}" if info.firmware else ""
        return CheckResult(OK, subject, f"accepted in {mode} mode ({probe.bridge_type} bridge {info.server_id}{firmware})")
    if probe.forbidden:
        return CheckResult(FAILED, subject, "the bridge's HTTP API is disabled (403)", ENABLE_API_HINT)
    pair = f"nuki2mqtt pair --host {cfg.host}" + (f" --port {cfg.port}" if cfg.port != 8080 else "")
    if probe.token_accepted is False:
        if cfg.token_mode is TokenMode.PLAIN:
            return CheckResult(FAILED, subject, "refused in plain mode (401)",
                               f"the token is wrong: `{pair}` gets the current one")
        rough = ""
        if probe.skew is not None and probe.skew_source == SKEW_FROM_DATE:
            rough = f" (the bridge's HTTP Date header puts its clock {format_skew(probe.skew)} off this machine's)"
        return CheckResult(
            FAILED, subject, f"refused in {mode} mode (401)",
            f"either the token is wrong (`{pair}` gets the current one) or this machine's clock differs from the "
            f"bridge's by more than {SKEW_LIMIT:.0f} s{rough}; `nuki2mqtt discover --host {cfg.host} "
            f"--port {cfg.port} --token-mode plain` shows the bridge's clock",
        )
    return CheckResult(FAILED, subject, f"could not be checked: {probe.error}",
                       "try again; the bridge serves one request at a time")


def _clock_result(key: str, cfg: BridgeConfig, probe: BridgeProbe) -> CheckResult:
    subject = f"{key}.clock"
    if probe.skew is None:
        return CheckResult(WARN, subject, "the bridge did not report its time (/info currentTime)",
                           "nothing to do unless requests fail with 401")
    offset = format_skew(probe.skew)
    level = skew_level(probe.skew)
    offline = "" if probe.info is None or probe.info.server_connected else (
        "; the bridge is not connected to the Nuki servers, where it gets its time")
    if level == OK:
        return CheckResult(OK, subject, f"the bridge's clock is {offset} off this machine's (within {SKEW_WARN:.0f} s)")
    if cfg.token_mode is TokenMode.PLAIN:
        return CheckResult(WARN, subject, f"the bridge's clock is {offset} off this machine's{offline}; plain tokens "
                           f"do not mind, encrypted and hashed ones fail beyond {SKEW_LIMIT:.0f} s", CLOCK_FIX)
    if level == "warn":
        return CheckResult(WARN, subject, f"the bridge's clock is {offset} off this machine's{offline}, close to the "
                           f"{SKEW_LIMIT:.0f} s at which {cfg.token_mode.value} tokens are refused", CLOCK_FIX)
    return CheckResult(FAILED, subject, f"the bridge's clock is {offset} off this machine's{offline}; "
                       f"{cfg.token_mode.value} tokens are refused beyond {SKEW_LIMIT:.0f} s", CLOCK_FIX)


def _callbacks_result(key: str, cfg: BridgeConfig, server: ServerConfig, bridge_id: str, timeout: float) -> CheckResult:
    subject = f"{key}.callbacks"
    try:
        with BridgeClient(cfg.host, cfg.port, cfg.token, cfg.token_mode, timeout=timeout) as client:
            urls = [cb.url for cb in client.callback_list()]
    except BridgeError as exc:
        return CheckResult(FAILED, subject, f"could not read the bridge's callbacks: {exc}", "try again")
    try:
        ours: str | None = callback_url(server, cfg.host, cfg.port, bridge_id)
    except OSError:
        ours = None
    used = f"{len(urls)} of {MAX_CALLBACKS} slots used"
    if not cfg.callbacks:
        return CheckResult(OK, subject, f"off: the gateway polls /list every {cfg.poll_interval:g} s ({used})")
    stale = [u for u in urls if u != ours and urlsplit(u).path.rstrip("/").endswith(f"/callback/{bridge_id}")]
    if stale:
        return CheckResult(
            WARN, subject, f"{used}; {', '.join(stale)} looks like an older nuki2mqtt callback at another address",
            "if nothing listens there any more, remove it (the bridge_callbacks request lists the ids, "
            "/callback/remove?id=N removes one): a dead callback delays the others",
        )
    if ours is not None and ours in urls:
        return CheckResult(OK, subject, f"{used}, ours among them")
    if len(urls) >= MAX_CALLBACKS:
        return CheckResult(
            FAILED, subject, f"all {MAX_CALLBACKS} slots are taken ({', '.join(urls)}); the gateway will poll instead",
            f"remove a callback another application no longer uses, or set {key}.callbacks: false",
        )
    return CheckResult(OK, subject, f"{used}; the gateway adds its own when it starts")


def _callback_url_result(key: str, cfg: BridgeConfig, server: ServerConfig, bridge_id: str) -> CheckResult:
    subject = f"{key} callback URL"
    try:
        url = callback_url(server, cfg.host, cfg.port, bridge_id)
    except OSError as exc:
        return CheckResult(FAILED, subject, f"this machine has no route to {cfg.host}: {exc.strerror or exc}",
                           "set server.advertise_url to the URL the bridge should call")
    host, port = url_host_port(url)
    docker_fix = (f"run the container with network_mode: host, or publish port {server.port} and set "
                  f"server.advertise_url: http://<the Docker host's LAN address>:{server.port}")
    if server.advertise_url:
        addresses = resolve(host)
        if not addresses:
            return CheckResult(FAILED, subject, f"{url}: cannot resolve {host}",
                               "use an IP address in server.advertise_url")
        if any(is_local_address(a) for a in addresses):
            if port != server.port:
                return CheckResult(FAILED, subject, f"{url}: the gateway listens on port {server.port} of this "
                                   "machine, not on the advertised port", "make server.advertise_url use server.port")
            return CheckResult(OK, subject, f"{url} (server.advertise_url: an address of this machine)")
        return CheckResult(
            WARN, subject, f"{url}: {host} is not an address of this machine; callbacks arrive only if "
            f"{host}:{port} forwards to this gateway's port {server.port} (e.g. a Docker published port)",
            "check that forward; or run the container with network_mode: host and remove server.advertise_url",
        )
    address = host.strip("[]")
    if docker_network_suspect(address, cfg.host):
        return CheckResult(FAILED, subject, f"{url}: {address} is a Docker bridge-network address that the bridge "
                           "on your LAN cannot reach", docker_fix)
    if server.host not in _WILDCARD_HOSTS and server.host != address:
        return CheckResult(FAILED, subject, f"{url}: the listener binds only to server.host {server.host}, "
                           f"but the bridge would call {address}", f"set server.host: 0.0.0.0 (or {address})")
    return CheckResult(OK, subject, f"{url} (auto-detected: this machine's address on the route to the bridge; "
                       "the first callback shows in the gateway's log)")
