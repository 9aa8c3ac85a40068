"""A real MQTT client for tests: records what arrives and waits for what should."""
from __future__ import annotations

import json
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


class MqttRecorder:
    def __init__(self, host: str, port: int, *, protocol: int = paho.MQTTv5) -> None:
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}",
                                   protocol=protocol)
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self._client.on_message = self._on_message
        self._connected = threading.Event()
        self._client.on_connect = lambda *a: (set_nodelay(self._client), self._connected.set())
        self._client.connect(host, port)
        self._client.loop_start()
        assert self._connected.wait(5), "test client could not connect to the broker"

    def _on_message(self, client: Any, userdata: Any, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        received = Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.perf_counter(),
                            getattr(props, "CorrelationData", None) if props else None)
        with self._cond:
            self._messages.append(received)
            self._cond.notify_all()

    def subscribe(self, topic_filter: str) -> None:
        done = threading.Event()
        self._client.on_subscribe = lambda *a: done.set()
        # retain-as-published: the tests can check the retain flag of live messages too
        self._client.subscribe(topic_filter, options=SubscribeOptions(qos=1, retainAsPublished=True))
        assert done.wait(5)

    def unsubscribe(self, topic_filter: str) -> None:
        done = threading.Event()
        self._client.on_unsubscribe = lambda *a: done.set()
        self._client.unsubscribe(topic_filter)
        assert done.wait(5)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, response_topic: str | None = None,
                correlation_data: bytes | None = None, expiry: int | None = None) -> None:
        props = None
        if response_topic or correlation_data or expiry is not None:
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
