"""Keeps Home Assistant's discovery configs in step with the devices the gateway knows.

- A device's configs are recomputed when its state changes which entities apply; only
  differences are published, and an entity that no longer applies is cleared.
- Configs an earlier run left on the broker for a device that is gone (or all of them,
  with ``homeassistant.enabled: false``) are cleared once every bridge has been read:
  only configs this gateway owns (its base topic in their availability) are touched.
- When Home Assistant announces ``online``, every config and then every state is
  republished after a short random delay, so a restarted Home Assistant neither
  misses entities nor shows them unknown.

All methods but :meth:`on_message` run on the gateway's state thread.
"""
from __future__ import annotations

import json
import logging
import random
import threading
from typing import Any, Callable, Mapping

from nuki2mqtt import homeassistant as ha
from nuki2mqtt.config import HomeAssistantConfig
from nuki2mqtt.mqtt import Message, MqttConnection

_LOGGER = logging.getLogger(__name__)

BIRTH_DELAY = (0.5, 2.5)  # seconds, randomized so many gateways do not answer at once


def _dump(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class HomeAssistantSync:
    def __init__(
        self,
        config: HomeAssistantConfig,
        mqtt: MqttConnection,
        post: Callable[[Callable[[], None]], None],
        *,
        birth_delay: tuple[float, float] = BIRTH_DELAY,
    ) -> None:
        self._config = config
        self._mqtt = mqtt
        self._post = post
        self._base = mqtt.base_topic
        self._prefix = config.discovery_prefix
        self._birth_delay = birth_delay
        self._published: dict[str, dict[str, str]] = {}  # owner key -> topic -> payload
        self._found: set[str] = set()  # own configs found retained on the broker
        self._swept = False

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    def start(self) -> None:
        """Subscribes to find configs of earlier runs, and (if enabled) to Home Assistant's birth."""
        self._mqtt.subscribe(f"{self._prefix}/+/+/+/config", self.on_message)
        if self.enabled:
            self._mqtt.subscribe(self._config.status_topic, self.on_message)

    # ------------------------------------------------------------ paho thread
    def on_message(self, msg: Message) -> None:
        if msg.topic == self._config.status_topic:
            if msg.payload.strip().lower() == b"online":
                delay = random.uniform(*self._birth_delay)
                timer = threading.Timer(delay, lambda: self._post(self.republish_all))
                timer.daemon = True
                timer.start()
            return
        if not msg.retain or not msg.payload or not ha.is_own_discovery_topic(msg.topic, self._prefix):
            return
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        if isinstance(payload, dict) and ha.owned_by(payload, self._base):
            topic = msg.topic
            self._post(lambda: self._note_found(topic))

    # ------------------------------------------------------------ state thread
    def _note_found(self, topic: str) -> None:
        if self._swept:
            if not self.enabled or not self._is_current(topic):
                self._clear(topic)
            return
        self._found.add(topic)

    def _is_current(self, topic: str) -> bool:
        return any(topic in topics for topics in self._published.values())

    def sweep(self) -> None:
        """Clears configs of earlier runs that apply no more; called once every bridge has been read."""
        self._swept = True
        stale = sorted(t for t in self._found if not self.enabled or not self._is_current(t))
        self._found.clear()
        if stale:
            _LOGGER.info("clearing %d Home Assistant discovery config(s) that no longer apply", len(stale))
        for topic in stale:
            self._clear(topic)

    def update_device(self, device: Mapping[str, Any], state: Mapping[str, Any] | None) -> None:
        if self.enabled:
            configs = ha.device_discovery(device, state, base_topic=self._base, discovery_prefix=self._prefix)
            self._apply(f"device:{device['id']}", configs)

    def remove_device(self, device_id: str) -> None:
        self._apply(f"device:{device_id}", {})

    def update_bridge(self, bridge: Mapping[str, Any]) -> None:
        if self.enabled and bridge.get("id"):
            configs = ha.bridge_discovery(bridge, base_topic=self._base, discovery_prefix=self._prefix)
            self._apply(f"bridge:{bridge['id']}", configs)

    def republish_all(self) -> None:
        """After Home Assistant's birth: every config, then every state and availability."""
        if not self.enabled:
            return
        _LOGGER.info("Home Assistant is online: republishing discovery and states")
        for configs in list(self._published.values()):
            for topic, payload in configs.items():
                self._mqtt.publish(topic, payload, retain=True)
        base, prefix = f"{self._base}/", f"{self._prefix}/"
        self._mqtt.republish(lambda topic: topic.startswith(base) and not topic.startswith(prefix))

    def _apply(self, key: str, configs: Mapping[str, Mapping[str, Any]]) -> None:
        old = self._published.get(key, {})
        new = {topic: _dump(payload) for topic, payload in configs.items()}
        for topic in old.keys() - new.keys():
            self._clear(topic)
        for topic, payload in new.items():
            if old.get(topic) != payload:
                self._mqtt.publish(topic, payload, retain=True)
        if new:
            self._published[key] = new
        else:
            self._published.pop(key, None)

    def _clear(self, topic: str) -> None:
        self._mqtt.publish(topic, b"", retain=True)
