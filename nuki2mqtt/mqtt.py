"""The MQTT connection: paho-mqtt 2.x with last will, MQTT 5 with 3.1.1 fallback, TLS,
reconnects, and a store of retained topics that is republished after every connect.

A restarted broker without persistence has lost every retained message, so each
retained publish is remembered here and sent again on (re)connect: status, devices,
bridges, states, availability and discovery configs come back without the caller
knowing a reconnect happened.

paho's callbacks run on its network thread: handlers registered here must only hand
work to a queue, never block.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from nuki2mqtt.config import MqttConfig

_LOGGER = logging.getLogger(__name__)

#: CONNACK reason for a broker that does not speak MQTT 5 (0x84; 3.1.1 brokers answer 1, which paho maps here).
_UNSUPPORTED_PROTOCOL = 132
#: Some 3.1.1-only brokers never answer an MQTT 5 CONNECT: no CONNACK this long after TCP is up means "refused".
CONNACK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Message:
    """An incoming message, decoupled from paho so handlers are easy to test."""

    topic: str
    payload: bytes
    retain: bool
    received_at: float  # time.monotonic()
    response_topic: str | None = None
    correlation_data: bytes | None = None
    expiry_interval: int | None = None  # MQTT 5 message expiry left when delivered, seconds


MessageHandler = Callable[[Message], None]


def set_nodelay(client: paho.Client) -> None:
    """Turns Nagle's algorithm off on paho's socket (paho leaves it on).

    MQTT sends many small packets in both directions (PUBLISH, PUBACK); with Nagle, a
    small packet waits for the ACK of the previous one, which the peer may delay by
    40 ms: that alone would be ten times the gateway's latency budget.
    """
    sock = client.socket()
    raw: Any = getattr(sock, "_sock", sock)  # paho may wrap the socket (TLS, websockets)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass


class MqttConnection:
    """One broker connection shared by the whole gateway; thread-safe publishing."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        clock: Callable[[], float],
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._on_connected = on_connected
        self._subscriptions: dict[str, MessageHandler] = {}
        self._retained: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._protocol = paho.MQTTv5 if config.protocol == "5" else paho.MQTTv311
        self._stopping = False
        self._ever_connected = False
        self._connack_seen = False  # any CONNACK, even a refusal, proves the broker speaks MQTT 5
        self._closed_before_connack = 0
        self._unreachable_logged = False
        self._client = self._make_client()

    @property
    def base_topic(self) -> str:
        return self._config.base_topic

    @property
    def status_topic(self) -> str:
        return f"{self._config.base_topic}/status"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def is_mqtt5(self) -> bool:
        return self._protocol == paho.MQTTv5

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Connects in the background; paho keeps reconnecting with backoff until stop()."""
        self._client.connect_async(self._config.host, self._config.port, keepalive=self._config.keepalive)
        self._client.loop_start()
        if self.is_mqtt5 and not self._ever_connected:
            threading.Thread(target=self._watch_connack, name="mqtt-connack-watch", daemon=True).start()

    def _watch_connack(self) -> None:
        """Falls back to 3.1.1 when a broker accepts TCP but never answers the MQTT 5 CONNECT."""
        client = self._client
        tcp_up_since: float | None = None
        while not (self._stopping or self._ever_connected or client is not self._client):
            now = self._clock()
            if client.socket() is None:
                tcp_up_since = None
            elif tcp_up_since is None:
                tcp_up_since = now
            elif now - tcp_up_since > CONNACK_TIMEOUT:
                _LOGGER.warning("broker did not answer an MQTT 5 connect in %.0f s, falling back to MQTT 3.1.1",
                                CONNACK_TIMEOUT)
                self._fall_back_to_311()
                return
            time.sleep(0.2)

    def stop(self) -> None:
        """Publishes ``offline`` (the will is only sent on an unclean loss) and disconnects."""
        self._stopping = True
        if self._connected.is_set():
            info = self._client.publish(self.status_topic, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=3)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    # ---------------------------------------------------------------- pub/sub
    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Registers ``handler`` and subscribes now if connected (and again after each connect)."""
        with self._lock:
            self._subscriptions[topic_filter] = handler
        if self._connected.is_set():
            self._subscribe_one(topic_filter)

    def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        retain: bool = False,
        qos: int = 1,
        correlation_data: bytes | None = None,
    ) -> None:
        """Publishes; retained payloads are remembered and republished after a reconnect."""
        data = payload.encode() if isinstance(payload, str) else payload
        if retain:
            # Stored and sent under the lock the reconnect republish holds too, so a copy taken
            # before this value can never be sent after it.
            with self._lock:
                if data:
                    self._retained[topic] = data
                else:
                    self._retained.pop(topic, None)
                self._client.publish(topic, data, qos=qos, retain=True)
            return
        properties = None
        if correlation_data is not None and self.is_mqtt5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation_data
        self._client.publish(topic, data, qos=qos, retain=False, properties=properties)

    def republish(self, where: Callable[[str], bool] = lambda topic: True) -> None:
        """Sends the remembered retained messages again (those whose topic ``where`` accepts).

        Under the lock publish() holds, so a newer value can never be overtaken by an old copy.
        """
        with self._lock:
            for topic, data in self._retained.items():
                if where(topic):
                    self._client.publish(topic, data, qos=1, retain=True)

    # ---------------------------------------------------------------- paho plumbing
    def _make_client(self) -> paho.Client:
        cfg = self._config
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=self._protocol,
            reconnect_on_failure=True,
        )
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            client.tls_set(
                ca_certs=cfg.tls.ca_certs,
                certfile=cfg.tls.certfile,
                keyfile=cfg.tls.keyfile,
                cert_reqs=ssl.CERT_NONE if cfg.tls.insecure else ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(cfg.tls.insecure)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(200)
        # Bounded while the broker is away; retained state is republished from our own copy anyway.
        client.max_queued_messages_set(10_000)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
        client.on_message = self._handle_message
        client.enable_logger(logging.getLogger("nuki2mqtt.paho"))
        return client

    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            if reason.value == _UNSUPPORTED_PROTOCOL and self._protocol == paho.MQTTv5:
                _LOGGER.warning("broker refused MQTT 5, falling back to MQTT 3.1.1")
                self._fall_back_to_311()
                return
            self._connack_seen = True
            _LOGGER.error("MQTT broker %s:%d refused the connection: %s%s", self._config.host, self._config.port,
                          reason, "; check mqtt.username and mqtt.password" if reason.value in (134, 135, 4, 5) else "")
            return
        self._connack_seen = True
        self._unreachable_logged = False
        set_nodelay(client)
        self._ever_connected = True
        _LOGGER.info("connected to MQTT broker %s:%d (MQTT %s)", self._config.host, self._config.port,
                     "5" if self.is_mqtt5 else "3.1.1")
        self._connected.set()
        with self._lock:
            filters = list(self._subscriptions)
        for topic_filter in filters:
            self._subscribe_one(topic_filter)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        self.republish()
        if self._on_connected:
            self._on_connected()

    def _fall_back_to_311(self) -> None:
        """paho fixes the protocol per client object, so a new one takes over (off paho's thread)."""
        if self._protocol == paho.MQTTv311:
            return
        old = self._client
        self._protocol = paho.MQTTv311

        def swap() -> None:
            old.disconnect()
            old.loop_stop()
            if self._stopping:
                return
            self._client = self._make_client()
            self.start()

        threading.Thread(target=swap, name="mqtt-fallback", daemon=True).start()

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if (not self._ever_connected and not self._connack_seen and self.is_mqtt5 and not self._stopping
                and client is self._client):
            # Once can be a network hiccup (or a TLS handshake cut short); twice in a row is a broker
            # that hangs up on MQTT 5.
            self._closed_before_connack += 1
            if self._closed_before_connack >= 2:
                _LOGGER.warning("broker closed the connection twice before answering an MQTT 5 connect (%s), "
                                "falling back to MQTT 3.1.1", reason)
                self._fall_back_to_311()
            return
        if was and not self._stopping:
            _LOGGER.warning("lost the MQTT connection (%s); reconnecting", reason)

    def _handle_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        """No TCP (or TLS) connection: said once per outage, then paho retries with backoff."""
        if not self._unreachable_logged and not self._stopping:
            self._unreachable_logged = True
            _LOGGER.warning("cannot reach the MQTT broker at %s:%d (refused, unreachable or TLS failure); "
                            "retrying with backoff", self._config.host, self._config.port)

    def _subscribe_one(self, topic_filter: str) -> None:
        if self.is_mqtt5:
            # retain-as-published: a retained command is recognisable even when it arrives live.
            # no-local: our own publications (a reply sent to a response topic that is one of our
            # command topics) never come back to us as commands.
            options = SubscribeOptions(qos=1, retainAsPublished=True, noLocal=True)
            self._client.subscribe(topic_filter, options=options)
        else:
            self._client.subscribe(topic_filter, qos=1)

    def _handle_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        message = Message(
            topic=msg.topic,
            payload=bytes(msg.payload),
            retain=bool(msg.retain),
            received_at=self._clock(),
            response_topic=getattr(props, "ResponseTopic", None) if props else None,
            correlation_data=getattr(props, "CorrelationData", None) if props else None,
            expiry_interval=getattr(props, "MessageExpiryInterval", None) if props else None,
        )
        with self._lock:
            handlers = [h for f, h in self._subscriptions.items() if paho.topic_matches_sub(f, msg.topic)]
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # noqa: BLE001 - a handler bug must not kill paho's thread
                _LOGGER.exception("error handling MQTT message on %s", msg.topic)

    def publish_response(self, topic: str, payload: str, correlation_data: bytes | None) -> None:
        """A reply on an MQTT 5 response topic, echoing the request's correlation data.

        Never onto a topic we take commands or requests from: a reply there would be a command.
        """
        with self._lock:
            ours = [f for f in self._subscriptions if paho.topic_matches_sub(f, topic)]
        if ours or "+" in topic or "#" in topic:
            _LOGGER.warning("not replying on response topic %s: it is a command topic or not a topic name", topic)
            return
        self.publish(topic, payload, qos=1, correlation_data=correlation_data)
