"""The gateway: MQTT on one side, one worker per bridge on the other.

Threads and who does what:
- paho's network thread parses ``set`` and ``request`` messages and queues them;
- one worker thread per bridge sends every HTTP request to that bridge;
- the HTTP listener answers callbacks at once and queues the reading;
- one state thread applies every reading (callback, poll, reachability) in arrival
  order and publishes what changed, so a late poll never overwrites a newer callback
  out of order and nothing needs a lock around the device registry.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import urlsplit

from nuki2mqtt import state as states
from nuki2mqtt.api_requests import RequestHandler
from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.bridge.models import BridgeInfo, CallbackEvent, DeviceEntry, DeviceState
from nuki2mqtt.commands import ParsedCommand, RejectedCommand, parse_command
from nuki2mqtt.config import BridgeConfig, Config
from nuki2mqtt.const import BridgeType, DeviceType, format_device_id
from nuki2mqtt.ha_sync import HomeAssistantSync
from nuki2mqtt.mqtt import Message, MqttConnection
from nuki2mqtt.network import callback_url, docker_network_suspect, in_container, resolve_addresses
from nuki2mqtt.server import HttpListener, Reply
from nuki2mqtt.worker import BridgeWorker, Command, CommandResult

_LOGGER = logging.getLogger(__name__)

ClientFactory = Callable[[BridgeConfig], Any]


def default_client_factory(cfg: BridgeConfig) -> BridgeClient:
    return BridgeClient(cfg.host, cfg.port, cfg.token, cfg.token_mode)


@dataclass
class Device:
    """A Nuki device as the gateway knows it (one per physical device)."""

    id: str
    nuki_id: int
    device_type: str  # the contract's name: smartlock, opener, ...
    bridge_device_type: int  # the number the bridge wants back in /lockAction
    reported_name: str
    name: str
    topic: str
    firmware: str | None = None
    bridge: "BridgeHandle | None" = None
    state: dict[str, Any] | None = None
    available: bool | None = None
    callback_at: float | None = None  # gateway clock when the last callback for it arrived

    @property
    def is_opener(self) -> bool:
        return self.device_type == DeviceType.OPENER.label

    def entry(self) -> dict[str, Any]:
        """The item of ``<base>/devices``."""
        return {
            "id": self.id,
            "nuki_id": self.nuki_id,
            "device_type": self.device_type,
            "name": self.name,
            "topic": self.topic,
            "via": "bridge",
            "bridge": self.bridge.id if self.bridge else None,
            "firmware": self.firmware,
        }


@dataclass
class BridgeHandle:
    """A configured bridge and its worker."""

    config: BridgeConfig
    worker: BridgeWorker
    addresses: frozenset[str] = frozenset()
    info: BridgeInfo | None = None
    info_at: float = 0.0  # time.monotonic() when info was read, to advance its uptime
    device_ids: set[str] = field(default_factory=set)
    listed: bool = False  # /list has been read at least once since start

    @property
    def id(self) -> str | None:
        return str(self.info.server_id) if self.info else None

    def sent_from(self, client_ip: str) -> bool:
        """Whether ``client_ip`` is this bridge's; the host name is resolved again on a miss (DHCP, DNS)."""
        if client_ip in self.addresses:
            return True
        self.addresses = resolve_addresses(self.config.host)
        return client_ip in self.addresses

    def entry(self) -> dict[str, Any]:
        """The item of ``<base>/bridges``."""
        info = self.info
        last_seen = self.worker.last_seen
        return {
            "id": self.id,
            "host": self.config.host,
            "port": self.config.port,
            "bridge_type": BridgeType.label_of(info.bridge_type) if info else None,
            "firmware": info.firmware if info else None,
            "server_connected": info.server_connected if info else None,
            "reachable": bool(self.worker.reachable),
            "last_seen": (
                datetime.fromtimestamp(last_seen, timezone.utc).replace(microsecond=0).isoformat()
                if last_seen else None
            ),
            "uptime": info.uptime + int(time.monotonic() - self.info_at) if info and info.uptime is not None else None,
            "callback": self.worker.callback_registered is not None,
        }


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class Gateway:
    """Owns every part; ``start()`` returns at once, ``stop()`` shuts down in order."""

    def __init__(
        self,
        config: Config,
        *,
        client_factory: ClientFactory = default_client_factory,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.base = config.mqtt.base_topic
        self.mqtt = MqttConnection(config.mqtt, clock=clock, on_connected=self._on_mqtt_connected)
        self.listener = HttpListener(config.server.host, config.server.port, self)
        self._events: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._state_thread = threading.Thread(target=self._run_events, name="state", daemon=True)
        self._devices: dict[str, Device] = {}
        self._by_topic: dict[str, Device] = {}
        self._connects = 0
        self._accepting = True
        self._published_bridges: str | None = None
        self._published_devices: str | None = None
        self.bridges: list[BridgeHandle] = []
        for cfg in config.bridges:
            worker = BridgeWorker(
                f"{cfg.host}:{cfg.port}",
                client_factory(cfg),
                self,
                poll_interval=cfg.poll_interval,
                callbacks=cfg.callbacks,
                clock=clock,
            )
            self.bridges.append(BridgeHandle(cfg, worker))
        self._handle_by_worker = {id(b.worker): b for b in self.bridges}
        self.requests = RequestHandler(self)
        self.ha = HomeAssistantSync(config.homeassistant, self.mqtt, self._post)

    # ================================================================ lifecycle
    def start(self) -> None:
        self._state_thread.start()
        for bridge in self.bridges:
            bridge.addresses = resolve_addresses(bridge.config.host)
        self.listener.start()
        self.mqtt.subscribe(f"{self.base}/+/set", self._on_set_message)
        self.mqtt.subscribe(f"{self.base}/request/#", self.requests.on_message)  # names like keypad_codes/list
        self.ha.start()
        if not self.ha.enabled or not self.bridges:
            self._post(self.ha.sweep)
        self._publish_devices()
        self._publish_bridges()
        self.mqtt.start()
        for bridge in self.bridges:
            bridge.worker.start()
        if self.config.web is not None:
            _LOGGER.warning("the web section is configured, but the Nuki Web API backend is not available in "
                            "this version yet: only the bridges are used")
        if not self.bridges:
            _LOGGER.warning("no bridges are configured: add one under bridges (see config.example.yaml)")
        _LOGGER.info("nuki2mqtt started: %d bridge(s), HTTP listener on port %d", len(self.bridges), self.listener.port)

    def wait_ready(self, timeout: float) -> bool:
        """True once MQTT is connected and every bridge has been set up (and its readings applied)."""
        deadline = time.monotonic() + timeout
        if not self.mqtt.wait_connected(timeout):
            return False
        for bridge in self.bridges:
            if not bridge.worker.ready.wait(max(0.0, deadline - time.monotonic())):
                return False
        applied = threading.Event()
        self._post(applied.set)  # everything the workers reported before this point is applied
        return applied.wait(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """No new commands; the one in flight finishes; callbacks removed; ``offline`` published."""
        self._accepting = False
        finished = {id(b): b.worker.stop() for b in self.bridges}
        self.listener.stop()
        self._events.put(None)
        self._state_thread.join(timeout=10)
        self.mqtt.stop()
        for bridge in self.bridges:
            if not finished[id(bridge)]:
                # Closing the pool under a running request would fail it; the process ends anyway.
                _LOGGER.warning("bridge %s: still busy with a request at stop; left to finish", bridge.worker.label)
                continue
            close = getattr(bridge.worker.client, "close", None)
            if close:
                close()
        _LOGGER.info("nuki2mqtt stopped")

    def _on_mqtt_connected(self) -> None:
        self._connects += 1
        if self._connects > 1:
            # poll_interval 0 means "a read at start and after reconnects".
            for bridge in self.bridges:
                bridge.worker.request_poll()

    # ================================================================ state thread
    def _run_events(self) -> None:
        while True:
            task = self._events.get()
            if task is None:
                return
            try:
                task()
            except Exception:  # noqa: BLE001 - one bad reading must not stop state updates
                _LOGGER.exception("error applying a state update")

    def _post(self, task: Callable[[], None]) -> None:
        self._events.put(task)

    # ================================================================ worker listener (worker threads)
    def on_info(self, worker: BridgeWorker, info: BridgeInfo) -> None:
        handle = self._handle_by_worker[id(worker)]

        def apply() -> None:
            handle.info = info
            handle.info_at = time.monotonic()
            _LOGGER.info("bridge %s: id %s, %s firmware %s, server %s", worker.label, info.server_id,
                         BridgeType.label_of(info.bridge_type), info.firmware,
                         "connected" if info.server_connected else "not connected")
            self._publish_bridges()

        self._post(apply)

    def on_list(self, worker: BridgeWorker, entries: list[DeviceEntry], source: str,
                read_at: float | None = None) -> None:
        handle = self._handle_by_worker[id(worker)]
        self._post(lambda: self._apply_list(handle, entries, source, read_at))

    def on_reachable(self, worker: BridgeWorker, reachable: bool) -> None:
        handle = self._handle_by_worker[id(worker)]

        def apply() -> None:
            for device_id in handle.device_ids:
                self._set_available(self._devices[device_id], reachable)
            self._publish_bridges()

        self._post(apply)

    def on_setup(self, worker: BridgeWorker) -> None:
        """Setup (or a later callback registration) finished: ``callback`` in the bridges entry changed."""
        self._post(self._publish_bridges)

    def callback_url(self, worker: BridgeWorker, info: BridgeInfo) -> str | None:
        cfg = self._handle_by_worker[id(worker)].config
        try:
            url = callback_url(self.config.server.advertise_url, cfg.host, cfg.port, self.listener.port,
                               str(info.server_id))
        except OSError as exc:
            _LOGGER.error("bridge %s: cannot find the local address the bridge could call back (%s); "
                          "set server.advertise_url", worker.label, exc)
            return None
        address = urlsplit(url).hostname or ""
        if not self.config.server.advertise_url and in_container() and docker_network_suspect(address, cfg.host):
            _LOGGER.warning("bridge %s: the callback address %s looks like a Docker network address the bridge "
                            "cannot reach; set server.advertise_url to http://<Docker host LAN IP>:%d "
                            "(or use host networking)", worker.label, address, self.listener.port)
        return url

    # ================================================================ applying readings (state thread)
    def _apply_list(self, handle: BridgeHandle, entries: list[DeviceEntry], source: str,
                    read_at: float | None = None) -> None:
        """A /list answer: devices come and go; a state older than the device's last callback is skipped.

        A read that began before a callback arrived may carry the state from before that change.
        """
        seen: set[str] = set()
        devices_changed = False
        for entry in entries:
            device_id = format_device_id(entry.nuki_id)
            seen.add(device_id)
            device = self._devices.get(device_id)
            if device is None:
                device = self._add_device(handle, entry)
                devices_changed = True
            elif device.reported_name != entry.name or (entry.firmware_version and device.firmware != entry.firmware_version):
                device.reported_name = entry.name
                device.name = self.config.device(device_id).name or entry.name
                device.firmware = entry.firmware_version or device.firmware
                devices_changed = True
            if read_at is None or device.callback_at is None or device.callback_at < read_at:
                self._apply_reading(device, entry.last_known_state, source)
            self._set_available(device, True)
        for device_id in sorted(handle.device_ids - seen):
            self._remove_device(self._devices[device_id])
            devices_changed = True
        handle.device_ids = seen
        if devices_changed:
            self._publish_devices()
        for device_id in sorted(seen):
            device = self._devices[device_id]
            self.ha.update_device(device.entry(), device.state)
        self._publish_bridges()
        if not handle.listed:
            handle.listed = True
            if all(b.listed for b in self.bridges):
                self.ha.sweep()

    def _add_device(self, handle: BridgeHandle, entry: DeviceEntry) -> Device:
        device_id = format_device_id(entry.nuki_id)
        configured = self.config.device(device_id)
        type_name = DeviceType.label_of(entry.device_type) or DeviceType.SMARTLOCK.label
        device = Device(
            id=device_id,
            nuki_id=entry.nuki_id,
            device_type=type_name,
            bridge_device_type=entry.device_type,
            reported_name=entry.name,
            name=configured.name or entry.name,
            topic=configured.topic or device_id,
            firmware=entry.firmware_version,
            bridge=handle,
        )
        self._devices[device_id] = device
        self._by_topic[device.topic] = device
        _LOGGER.info("found %s %s (%s) on bridge %s, topic %s/%s", device.device_type, device.name, device_id,
                     handle.worker.label, self.base, device.topic)
        return device

    def _remove_device(self, device: Device) -> None:
        _LOGGER.warning("%s (%s) is no longer paired with its bridge; removing it", device.name, device.id)
        self._devices.pop(device.id, None)
        self._by_topic.pop(device.topic, None)
        for suffix in ("state", "availability"):
            self.mqtt.publish(f"{self.base}/{device.topic}/{suffix}", b"", retain=True)
        self.ha.remove_device(device.id)

    def _apply_reading(self, device: Device, reading: DeviceState, source: str) -> None:
        previous = device.state or states.empty_state(device.id, device.nuki_id, device.device_type, device.name)
        previous = {**previous, "name": device.name}
        new = states.merge_bridge_state(previous, reading, source=source)
        ring = device.is_opener and states.rang(device.state, new)
        if states.changed(device.state, new):
            self.mqtt.publish(f"{self.base}/{device.topic}/state", _json(new), retain=True)
            _LOGGER.info("%s: %s (%s)", device.name, new.get("state"), source)
        device.state = new
        if ring:
            _LOGGER.info("%s: ring", device.name)
            self.mqtt.publish(
                f"{self.base}/{device.topic}/event",
                _json({"event_type": "ring", "timestamp": new.get("ring_action_timestamp"), "source": source}),
            )

    def _set_available(self, device: Device, available: bool) -> None:
        if device.available != available:
            device.available = available
            self.mqtt.publish(f"{self.base}/{device.topic}/availability",
                              "online" if available else "offline", retain=True)

    def _publish_devices(self) -> None:
        payload = _json([d.entry() for d in sorted(self._devices.values(), key=lambda d: d.id)])
        if payload != self._published_devices:
            self._published_devices = payload
            self.mqtt.publish(f"{self.base}/devices", payload, retain=True)

    def _publish_bridges(self) -> None:
        entries = [b.entry() for b in self.bridges]
        payload = _json(entries)
        if payload == self._published_bridges:
            return
        self._published_bridges = payload
        self.mqtt.publish(f"{self.base}/bridges", payload, retain=True)
        for bridge, entry in zip(self.bridges, entries, strict=True):
            if bridge.id:
                self.mqtt.publish(f"{self.base}/bridge_{bridge.id}/state", _json(entry), retain=True)
                self.mqtt.publish(f"{self.base}/bridge_{bridge.id}/availability",
                                  "online" if entry["reachable"] else "offline", retain=True)
                self.ha.update_bridge(entry)

    # ================================================================ commands (paho thread)
    def _on_set_message(self, msg: Message) -> None:
        topic = msg.topic[len(self.base) + 1:-len("/set")]
        device = self._by_topic.get(topic)
        is_opener = device.is_opener if device else False
        parsed = parse_command(msg.payload, is_opener=is_opener)
        reply = self._result_sender(topic, msg, parsed)
        if device is None:
            reply("rejected", f"unknown device {topic!r}; see {self.base}/devices", 0)
            return
        if msg.retain:
            reply("rejected", "retained command refused: a retained message would run again at every reconnect", 0)
            _LOGGER.warning("%s: refused a retained command on %s", device.name, msg.topic)
            return
        if isinstance(parsed, RejectedCommand):
            reply("rejected", parsed.error, 0)
            return
        if not self._accepting:
            reply("rejected", "the gateway is stopping", 0)
            return
        if device.bridge is None:
            reply("error", "the device has no backend that can send commands", 0)
            return
        ttl = float(self.config.commands.ttl)
        if msg.expiry_interval is not None:
            ttl = min(ttl, float(msg.expiry_interval))
        command = Command(
            nuki_id=device.nuki_id,
            device_type=device.bridge_device_type,
            label=device.name,
            parsed=parsed,
            received_at=msg.received_at,
            deadline=msg.received_at + ttl,
            done=lambda result: self._command_done(device, parsed, result, reply),
        )
        device.bridge.worker.submit_command(command)

    def _command_done(
        self, device: Device, parsed: ParsedCommand, result: CommandResult, reply: Callable[[str, str | None, int], None]
    ) -> None:
        level = logging.INFO if result.status == "ok" else logging.WARNING
        _LOGGER.log(level, "%s: %s %s%s", device.name, parsed.action, result.status,
                    f": {result.error}" if result.error else "")
        reply(result.status, result.error, result.attempts)

    def _result_sender(
        self, topic: str, msg: Message, parsed: ParsedCommand | RejectedCommand
    ) -> Callable[[str, str | None, int], None]:
        """Builds the one reply of a command: on ``<device>/result`` and its MQTT 5 response topic."""
        sent = threading.Event()

        def reply(status: str, error: str | None, attempts: int) -> None:
            if sent.is_set():
                return
            sent.set()
            result = {
                "id": parsed.correlation_id,
                "action": parsed.action,
                "status": status,
                "error": error,
                "attempts": attempts,
                "duration_ms": round((self.clock() - msg.received_at) * 1000),
            }
            payload = _json(result)
            self.mqtt.publish(f"{self.base}/{topic}/result", payload)
            if msg.response_topic:
                self.mqtt.publish_response(msg.response_topic, payload, msg.correlation_data)

        return reply

    # ================================================================ HTTP listener API (listener threads)
    def callback_sender_allowed(self, client_ip: str) -> bool:
        return any(b.sent_from(client_ip) for b in self.bridges)

    def handle_callback(self, bridge_id: str, client_ip: str, body: bytes) -> Reply:
        handle = next((b for b in self.bridges if b.id == bridge_id), None)
        if handle is None:
            return Reply(HTTPStatus.NOT_FOUND, {"error": f"no configured bridge with id {bridge_id}"})
        if not handle.sent_from(client_ip):
            _LOGGER.warning("refused a callback for bridge %s from %s", bridge_id, client_ip)
            return Reply(HTTPStatus.FORBIDDEN, {"error": "callbacks are accepted only from the bridge's address"})
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            _LOGGER.warning("bridge %s sent an invalid callback body: %s", bridge_id, exc)
            return Reply(HTTPStatus.BAD_REQUEST, {"error": f"invalid JSON: {exc}"})
        try:
            event = CallbackEvent.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            _LOGGER.warning("bridge %s sent a callback without a valid nukiId: %s", bridge_id, exc)
            return Reply(HTTPStatus.BAD_REQUEST, {"error": "callback body must be a JSON object with an integer nukiId"})
        received = self.clock()
        return Reply(HTTPStatus.OK, {"success": True},
                     after=lambda: self._post(lambda: self._apply_callback(handle, event, received)))

    def _apply_callback(self, handle: BridgeHandle, event: CallbackEvent, received: float) -> None:
        device = self._devices.get(format_device_id(event.nuki_id))
        if device is None or device.bridge is not handle:
            _LOGGER.info("bridge %s: callback for unknown device %s; reading /list", handle.worker.label,
                         format_device_id(event.nuki_id))
            handle.worker.request_poll()
            return
        device.callback_at = received
        self._apply_reading(device, event.state, "callback")
        self._set_available(device, True)
        self.ha.update_device(device.entry(), device.state)

    def handle_webhook(self, headers: dict[str, str], body: bytes) -> Reply:
        return Reply(HTTPStatus.NOT_FOUND, {"error": "the Nuki Web API is not configured"})

    def health(self) -> tuple[int, dict[str, Any]]:
        mqtt_ok = self.mqtt.connected
        workers_ok = all(b.worker.is_alive() for b in self.bridges) and self._state_thread.is_alive()
        bridges = {
            (b.id or f"{b.config.host}:{b.config.port}"): {
                "reachable": bool(b.worker.reachable),
                "last_seen": b.entry()["last_seen"],
            }
            for b in self.bridges
        }
        if not (mqtt_ok and workers_ok):
            status = "down"
        elif all(b.worker.reachable for b in self.bridges):
            status = "ok"
        else:
            status = "degraded"
        body = {"status": status, "mqtt": "connected" if mqtt_ok else "disconnected", "bridges": bridges}
        return (HTTPStatus.OK if status != "down" else HTTPStatus.SERVICE_UNAVAILABLE), body

    # ================================================================ lookups for requests
    def device_by_ref(self, ref: str) -> Device | None:
        """A device by topic, id (any case) or name."""
        if ref in self._by_topic:
            return self._by_topic[ref]
        device = self._devices.get(ref.upper())
        if device:
            return device
        return next((d for d in list(self._devices.values()) if d.name == ref), None)

    def bridge_by_ref(self, ref: str | None) -> BridgeHandle:
        """The bridge named by id or host (or the only one); raises ValueError with a readable message."""
        if ref is None:
            if len(self.bridges) == 1:
                return self.bridges[0]
            if not self.bridges:
                raise ValueError("no bridge is configured")
            raise ValueError("several bridges are configured: name one with \"bridge\" (its id or host)")
        ref = str(ref)
        for bridge in self.bridges:
            if ref in (bridge.id, bridge.config.host, f"{bridge.config.host}:{bridge.config.port}"):
                return bridge
        raise ValueError(f"no bridge {ref!r}; known: {', '.join(str(b.id or b.config.host) for b in self.bridges)}")

    def devices_snapshot(self) -> list[Device]:
        return list(self._devices.values())

