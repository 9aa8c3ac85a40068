"""``<base>/request/<name>`` -> ``<base>/response/<name>``, zigbee2mqtt style.

Every request gets exactly one response, echoing its ``transaction``. Bridge requests
run on the bridge's worker like every other bridge call, so they never collide with
a command; maintenance requests (reboot, firmware update, clear log) need
``allow_maintenance: true`` on that bridge.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import asdict
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable

from nuki2mqtt.mqtt import Message
from nuki2mqtt.worker import Job

if TYPE_CHECKING:
    from nuki2mqtt.gateway import BridgeHandle, Gateway

_LOGGER = logging.getLogger(__name__)

WEB_REQUESTS = frozenset({
    "keypad_codes/list", "keypad_codes/add", "keypad_codes/update", "keypad_codes/delete",
    "auths/list", "auths/add", "auths/update", "auths/delete", "users/list", "users/add", "logs",
})
MAINTENANCE = MappingProxyType({
    "bridge_reboot": lambda client, args: client.reboot(),
    "bridge_fwupdate": lambda client, args: client.fwupdate(
        scope=_opt_int(args, "scope"), nuki_id=_opt_int(args, "nuki_id"), device_type=_opt_int(args, "device_type")),
    "bridge_clearlog": lambda client, args: client.clear_log(),
})

Respond = Callable[[str, Any, str | None], None]


class RequestError(ValueError):
    """A request that cannot be served; its message goes into the response."""


def _opt_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).lstrip("-").isdigit():
        raise RequestError(f'"{key}" must be an integer')
    return int(value)


def _parse_args(payload: bytes) -> tuple[dict[str, Any], str | None]:
    """The request's arguments (empty payload: none), or ``{}`` and why they cannot be read."""
    if not payload.strip():
        return {}, None
    try:
        args = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return {}, f"invalid JSON: {exc}"
    if not isinstance(args, dict):
        return {}, 'the request must be a JSON object, e.g. {"transaction": 1}'
    return args, None


class RequestHandler:
    def __init__(self, gateway: "Gateway") -> None:
        self._gw = gateway

    def on_message(self, msg: Message) -> None:
        """Runs on paho's thread: validates and queues, never waits for a bridge."""
        base = self._gw.base
        name = msg.topic[len(f"{base}/request/"):]
        args, problem = _parse_args(msg.payload)
        respond = self._responder(name, msg, args.get("transaction"))
        if msg.retain:
            respond("error", None, "retained request refused: a retained message would run again at every reconnect")
            return
        if problem is not None:
            respond("error", None, problem)
            return
        deadline = msg.received_at + float(self._gw.config.commands.ttl)  # requests, too, never run late
        try:
            self._dispatch(name, args, respond, deadline)
        except ValueError as exc:  # RequestError, and bridge_by_ref's readable errors
            respond("error", None, str(exc))

    def _responder(self, name: str, msg: Message, transaction: Any = None) -> Respond:
        sent = threading.Lock()

        def respond(status: str, data: Any, error: str | None) -> None:
            if not sent.acquire(blocking=False):
                return
            body = {"transaction": transaction, "status": status, "data": data, "error": error}
            payload = json.dumps(body, default=str)
            self._gw.mqtt.publish(f"{self._gw.base}/response/{name}", payload)
            if msg.response_topic:
                self._gw.mqtt.publish_response(msg.response_topic, payload, msg.correlation_data)

        return respond

    def _dispatch(self, name: str, args: dict[str, Any], respond: Respond, deadline: float) -> None:
        if name == "refresh":
            self._refresh(args, respond, deadline)
        elif name == "bridge_info":
            bridge = self._gw.bridge_by_ref(args.get("bridge"))
            self._job(bridge, name, lambda client: dict(client.info().raw), respond, deadline)
        elif name == "bridge_log":
            bridge = self._gw.bridge_by_ref(args.get("bridge"))
            offset = _opt_int(args, "offset") or 0
            count = _opt_int(args, "count")
            count = 100 if count is None else count
            if offset < 0 or not 1 <= count <= 1000:
                raise RequestError('"offset" must be >= 0 and "count" between 1 and 1000')
            self._job(bridge, name, lambda client: client.log(offset=offset, count=count), respond, deadline)
        elif name == "bridge_callbacks":
            bridge = self._gw.bridge_by_ref(args.get("bridge"))
            own = bridge.worker.callback_registered
            self._job(bridge, name, lambda client: [
                {**asdict(cb), "own": cb.url == own} for cb in client.callback_list()], respond, deadline)
        elif name in MAINTENANCE:
            bridge = self._gw.bridge_by_ref(args.get("bridge"))
            if not bridge.config.allow_maintenance:
                raise RequestError(
                    f"{name} is disabled: set allow_maintenance: true for bridge {bridge.config.host} to allow it")
            action = MAINTENANCE[name]
            _LOGGER.warning("bridge %s: %s requested over MQTT", bridge.worker.label, name)
            self._job(bridge, name, lambda client: action(client, args), respond, deadline)
        elif name in WEB_REQUESTS:
            raise RequestError(f"{name} needs the Nuki Web API, which this version of nuki2mqtt does not support yet")
        else:
            known = ["refresh", "bridge_info", "bridge_log", "bridge_callbacks", *MAINTENANCE, *sorted(WEB_REQUESTS)]
            raise RequestError(f"unknown request {name!r}; known: {', '.join(known)}")

    def _refresh(self, args: dict[str, Any], respond: Respond, deadline: float) -> None:
        ref = args.get("device")
        if ref is not None:
            device = self._gw.device_by_ref(str(ref))
            if device is None or device.bridge is None:
                raise RequestError(f"unknown device {ref!r}")
            targets = [device.bridge]
        else:
            targets = list(self._gw.bridges)
        if not targets:
            raise RequestError("no bridge is configured")
        errors: list[str] = []
        left = [len(targets)]
        lock = threading.Lock()

        def one_done(bridge: "BridgeHandle", result: Any, error: BaseException | None) -> None:
            """Runs on each bridge's worker; the last one to finish answers."""
            if error is None:
                read_at, entries = result
                self._gw.on_list(bridge.worker, entries, "poll", read_at)
            with lock:
                if error is not None:
                    errors.append(f"{bridge.config.host}: {error}")
                left[0] -= 1
                if left[0]:
                    return
            if errors:
                respond("error", None, "; ".join(errors))
            else:
                respond("ok", {"bridges": [b.id for b in targets]}, None)

        clock = self._gw.clock

        def read_list(client: Any) -> tuple[float, Any]:
            read_at = clock()
            return read_at, client.list()

        for bridge in targets:
            done: Callable[[Any, BaseException | None], None] = functools.partial(one_done, bridge)
            bridge.worker.submit_job(Job(run=read_list, done=done, name="/list", deadline=deadline))

    def _job(self, bridge: "BridgeHandle", name: str, run: Callable[[Any], Any], respond: Respond,
             deadline: float) -> None:
        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                respond("error", None, str(error))
            else:
                respond("ok", result, None)

        bridge.worker.submit_job(Job(run=run, done=done, name=name, deadline=deadline))
