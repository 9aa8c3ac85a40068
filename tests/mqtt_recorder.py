"""A real MQTT client for tests: records what arrives and waits for what should."""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from nuki2mqtt.mqtt import set_nodelay


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float
    correlation_data: bytes | None = None

    @property
    def text(self) -> str:
        return self.payload.decode()

    @property
    def json(self) -> Any:
        return json.loads(self.payload)


def broker_preference() -> str:
    """``prefer`` for the tests' LocalBrokers: NUKI2MQTT_TEST_BROKER, default ``auto``."""
    return os.environ.get("NUKI2MQTT_TEST_BROKER", "auto")


def protocol_for(broker: Any) -> int:
    """The MQTT version to speak to a :class:`~nuki2mqtt.broker.LocalBroker`: amqtt speaks 3.1.1 only."""
    return paho.MQTTv5 if broker.protocol == "5" else paho.MQTTv311


class MqttRecorder:
    def __init__(self, host: str, port: int, *, protocol: int = paho.MQTTv5) -> None:
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self._address = (host, port)
        self._filters: list[str] = []
        self._client = self._connect(protocol)

    def _connect(self, protocol: int) -> paho.Client:
        host, port = self._address
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}",
                             protocol=protocol)
        client.on_message = self._on_message
        self._connected = threading.Event()
        self._refusal: Any = None
        client.on_connect = self._on_connect
        client.connect(host, port)
        client.loop_start()
        if not self._connected.wait(5):
            client.loop_stop()
            raise AssertionError(f"test client got no CONNACK from the broker at {host}:{port} within 5 s")
        if self._refusal is not None:
            client.disconnect()
            client.loop_stop()
            raise AssertionError(f"the broker at {host}:{port} refused the test client "
                                 f"(MQTT {'5' if protocol == paho.MQTTv5 else '3.1.1'}): {self._refusal}")
        return client

    @classmethod
    def on(cls, broker: Any) -> "MqttRecorder":
        """A recorder on ``broker`` (a LocalBroker) speaking the MQTT version it supports."""
        return cls(broker.host, broker.port, protocol=protocol_for(broker))

    @property
    def is_mqtt5(self) -> bool:
        return self._client.protocol == paho.MQTTv5

    def is_retained(self, message: Received) -> bool:
        """Whether ``message`` was published retained, also for a live message under MQTT 3.1.1.

        MQTT 5 with retain-as-published keeps the flag on live messages; 3.1.1 clears it, so there
        a fresh subscriber asks the broker whether it holds ``message`` as the topic's retained one
        (for an empty payload, a retained clear: whether it holds nothing).
        """
        if message.retain or self.is_mqtt5:
            return message.retain
        probe = MqttRecorder(*self._address, protocol=self._client.protocol)
        try:
            probe.subscribe(message.topic)  # recovers from amqtt's lost sessions itself
            try:
                held = probe.wait_for(message.topic, timeout=1 if not message.payload else 2)
            except AssertionError:  # nothing retained on the topic
                return not message.payload
            return held.retain and held.payload == message.payload
        finally:
            probe.close()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._refusal = reason
        else:
            set_nodelay(client)
        self._connected.set()

    def _on_message(self, client: Any, userdata: Any, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        received = Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.perf_counter(),
                            getattr(props, "CorrelationData", None) if props else None)
        with self._cond:
            self._messages.append(received)
            self._cond.notify_all()

    def subscribe(self, topic_filter: str) -> None:
        self._filters.append(topic_filter)
        if self._subscribe(topic_filter, 5 if self.is_mqtt5 else 2):
            return
        if not self.is_mqtt5:
            # amqtt 0.12 can lose a session whose connect races another client's subscribe
            # (RuntimeError in its connect handler): start over on a new connection.
            old, self._client = self._client, self._connect(self._client.protocol)
            old.disconnect()
            old.loop_stop()
            if all(self._subscribe(f, 5) for f in self._filters):
                return
        raise AssertionError(f"no SUBACK for {topic_filter} within 5 s")

    def _subscribe(self, topic_filter: str, timeout: float) -> bool:
        done = threading.Event()
        self._client.on_subscribe = lambda *a: done.set()
        if self.is_mqtt5:
            # retain-as-published: the tests can check the retain flag of live messages too
            self._client.subscribe(topic_filter, options=SubscribeOptions(qos=1, retainAsPublished=True))
        else:  # MQTT 3.1.1: live messages always arrive with retain=False
            self._client.subscribe(topic_filter, qos=1)
        return done.wait(timeout)

    def unsubscribe(self, topic_filter: str) -> None:
        done = threading.Event()
        self._client.on_unsubscribe = lambda *a: done.set()
        self._client.unsubscribe(topic_filter)
        assert done.wait(5)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, response_topic: str | None = None,
                correlation_data: bytes | None = None, expiry: int | None = None) -> None:
        props = None
        if response_topic or correlation_data or expiry is not None:
            assert self.is_mqtt5, "response topic, correlation data and message expiry need MQTT 5"
            props = Properties(PacketTypes.PUBLISH)
            if response_topic:
                props.ResponseTopic = response_topic
            if correlation_data:
                props.CorrelationData = correlation_data
            if expiry is not None:
                props.MessageExpiryInterval = expiry
        self._client.publish(topic, payload, qos=1, retain=retain, properties=props).wait_for_publish(5)

    def messages(self, topic: str | None = None) -> list[Received]:
        with self._cond:
            return [m for m in self._messages if topic is None or paho.topic_matches_sub(topic, m.topic)]

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    def wait_for(self, topic: str, predicate: Callable[[Received], bool] | None = None, *, timeout: float = 5.0,
                 after: int = 0) -> Received:
        """The first message on ``topic`` (filter allowed) matching ``predicate``, index >= ``after``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._messages[after:]:
                    if paho.topic_matches_sub(topic, message.topic) and (predicate is None or predicate(message)):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:200]) for m in self._messages if paho.topic_matches_sub(topic, m.topic)]
                    raise AssertionError(f"nothing matching on {topic} within {timeout} s; got {seen}")
                self._cond.wait(left)

    def wait_json(self, topic: str, check: Callable[[Any], bool], *, timeout: float = 5.0) -> Any:
        def matches(m: Received) -> bool:
            try:
                return bool(m.payload) and check(m.json)
            except (ValueError, KeyError, TypeError):
                return False
        return self.wait_for(topic, matches, timeout=timeout).json

    def mark(self) -> int:
        with self._cond:
            return len(self._messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
