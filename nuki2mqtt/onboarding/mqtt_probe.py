"""Can this machine log in to the configured MQTT broker? One connect, nothing published.

The probe uses its own client id (a second client with the gateway's id would throw a
running gateway off the broker and fire its last will) and no last will; it tries
MQTT 5 first and 3.1.1 where the broker refuses 5 or never answers it, as the gateway does.
"""
from __future__ import annotations

import secrets
import socket
import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from nuki2mqtt.config import MqttConfig

#: CONNACK reasons (MQTT 5 numbering; paho maps the 3.1.1 return codes onto them).
UNSUPPORTED_PROTOCOL = 132
CLIENT_ID_REJECTED = 133
BAD_CREDENTIALS = 134
NOT_AUTHORIZED = 135


@dataclass(frozen=True)
class MqttProbe:
    """``protocol`` ("5" / "3.1.1") when the broker accepted us; else ``refused`` or ``error``."""

    protocol: str | None = None
    refused: int | None = None  # the CONNACK reason code
    refused_text: str | None = None
    error: str | None = None  # transport problem: refused, unresolvable, TLS, timeout

    @property
    def ok(self) -> bool:
        return self.protocol is not None


def probe_broker(cfg: MqttConfig, timeout: float = 5.0) -> MqttProbe:
    versions: list[paho.MQTTProtocolVersion] = (
        [paho.MQTTv5, paho.MQTTv311] if cfg.protocol == "5" else [paho.MQTTv311]
    )
    result = MqttProbe(error="no attempt")
    for version in versions:
        result = _connect_once(cfg, version, timeout)
        silent = result.error is not None and result.error.startswith("no answer")
        if version == paho.MQTTv5 and (result.refused == UNSUPPORTED_PROTOCOL or silent):
            continue
        return result
    return result


def _connect_once(cfg: MqttConfig, version: paho.MQTTProtocolVersion, timeout: float) -> MqttProbe:
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{cfg.client_id}-check-{secrets.token_hex(3)}",
        protocol=version,
        reconnect_on_failure=False,
    )
    client.connect_timeout = timeout
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls is not None:
        try:
            client.tls_set(
                ca_certs=cfg.tls.ca_certs,
                certfile=cfg.tls.certfile,
                keyfile=cfg.tls.keyfile,
                cert_reqs=ssl.CERT_NONE if cfg.tls.insecure else ssl.CERT_REQUIRED,
            )
        except (ssl.SSLError, OSError, ValueError) as exc:
            return MqttProbe(error=f"the TLS files cannot be used: {_ssl_text(exc)}")
        client.tls_insecure_set(cfg.tls.insecure)
    answered = threading.Event()
    outcome: list[ReasonCode] = []

    def on_connect(client: paho.Client, userdata: object, flags: object, reason: ReasonCode, props: object) -> None:
        outcome.append(reason)
        answered.set()

    client.on_connect = on_connect
    protocol = "5" if version == paho.MQTTv5 else "3.1.1"
    try:
        client.connect(cfg.host, cfg.port, keepalive=max(cfg.keepalive, 5))
    except socket.gaierror:
        return MqttProbe(error=f"cannot resolve the host name {cfg.host}")
    except ssl.SSLError as exc:
        return MqttProbe(error=f"TLS handshake failed: {_ssl_text(exc)}")
    except TimeoutError:
        return MqttProbe(error="connect timed out")
    except OSError as exc:
        return MqttProbe(error=exc.strerror or type(exc).__name__)
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return MqttProbe(error=f"no answer to the MQTT {protocol} CONNECT within {timeout:g} s")
        reason = outcome[0]
        if reason.is_failure:
            return MqttProbe(refused=reason.value, refused_text=str(reason))
        return MqttProbe(protocol=protocol)
    finally:
        client.disconnect()
        client.loop_stop()


def _ssl_text(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
