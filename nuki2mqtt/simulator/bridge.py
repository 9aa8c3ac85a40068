"""A Nuki Bridge on loopback: the HTTP API of nuki-bridge-api-v1.13.3, as corrected by NOTES.md.

It behaves like the hardware so that passing against it means working against a bridge:
one request at a time (a second concurrent request gets 503 at once), actions that take
time and walk through transitional states with one callback each, single-use hashed and
encrypted tokens valid for 60 s, callbacks POSTed in order from one sender thread whose
socket is bound to the bridge's own address.

Timing of the hardware that the document leaves open, and what this simulator does:

- ``/auth`` holds the one-at-a-time slot while it waits for the button.
- While a ``nowait=1`` action still runs, ``/lockState``, ``/lockAction``, ``/lock``,
  ``/unlock`` and ``/unpair`` answer 503 (the bridge talks to one device at a time);
  ``/list``, ``/info`` and ``/callback/*`` are served from the cache.
- ``ringactionState`` goes back to false after ``ring_reset`` seconds without a callback.
- ``/clearlog``, ``/fwupdate``, ``/reboot``, ``/factoryReset`` answer 200 with an empty
  body ("No response" in the document). ``/reboot`` then closes the port for
  ``reboot_duration`` seconds and comes back with its callbacks; ``/factoryReset`` also
  forgets callbacks, paired devices and the log.
- Error answers are ``text/plain`` (``HTTP 401 Unauthorized``), never JSON.

Control endpoints (no token; they bypass the one-at-a-time rule and are not recorded)::

    POST /_sim/button                          press the bridge button (completes /auth)
    POST /_sim/ring?nukiId=N                   ring the opener's doorbell
    POST /_sim/door?nukiId=N&state=S           door sensor state: door_opened, door_closed, ... or a number
    POST /_sim/lockstate?nukiId=N&state=S      an external state change (manual turn, app): locked, 3, ...
    POST /_sim/battery?nukiId=N&charge=P&critical=0|1&charging=0|1&keypadCritical=0|1
    GET  /_sim/state                           JSON of the bridge and all devices

This module holds the bridge's rules over time; the bridge's state
(:mod:`~nuki2mqtt.simulator.state`), the HTTP listener (:mod:`~nuki2mqtt.simulator.server`),
the API endpoints (:mod:`~nuki2mqtt.simulator.endpoints`), the control endpoints
(:mod:`~nuki2mqtt.simulator.control`) and the callback sender
(:mod:`~nuki2mqtt.simulator.callbacks`) have modules of their own.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nuki2mqtt.const import (
    BridgeType,
    DoorSensorState,
    LockState,
    Mode,
    OpenerState,
)
from nuki2mqtt.simulator.auth import SECRET_PARAMS, AuthFailure, TokenVerifier
from nuki2mqtt.simulator.callbacks import CallbackSender
from nuki2mqtt.simulator.control import handle_control
from nuki2mqtt.simulator.devices import (
    SimDevice,
    callback_json,
    default_devices,
    ring_steps,
    snapshot_json,
    zulu_timestamp,
)
from nuki2mqtt.simulator.endpoints import BridgeApi
from nuki2mqtt.simulator.params import parse_query
from nuki2mqtt.simulator.reply import HttpError, Reply
from nuki2mqtt.simulator.server import Server
from nuki2mqtt.simulator.state import BridgeState

logger = logging.getLogger(__name__)

DEFAULT_SERVER_ID = 2117604523
DEFAULT_HARDWARE_ID = 487751234
#: A button press this long before an /auth still completes it.
BUTTON_GRACE = 5.0
#: Request records kept (a bounded memory).
MAX_RECORDS = 50_000


@dataclass
class RequestRecord:
    """One bridge request. ``status`` is 0 until answered (``on_request`` sees it at arrival).

    ``params`` has the token parameters (token, ctoken, nonce, hash) removed.
    """

    path: str
    params: dict[str, str]
    status: int
    received_at: float


class BridgeSimulator:
    """A simulated Nuki Bridge serving the Bridge HTTP API on ``host:port``.

    Use ``start()``/``stop()`` or a ``with`` block. Times of day (token windows, timestamps)
    come from ``clock() + clock_offset``; durations use real time. The bridge's state is
    :attr:`state`, shared with the endpoints; its lock also guards the simulator's own
    bookkeeping (request records, injected errors, rings, timers and workers).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "abc123def456",
        devices: list[SimDevice] | None = None,
        bridge_type: BridgeType | int = BridgeType.HARDWARE,
        server_id: int = DEFAULT_SERVER_ID,
        hardware_id: int = DEFAULT_HARDWARE_ID,
        firmware_version: str = "2.16.1",
        wifi_firmware_version: str = "2.2.0",
        service_delay: float = 0.0,
        action_duration: float = 0.05,
        strict: bool = True,
        auth_window: float = 30.0,
        ring_reset: float = 30.0,
        callback_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        reboot_duration: float = 0.5,
        server_connected: bool = True,
    ) -> None:
        if not token:
            raise ValueError("the bridge needs a token")
        self._host = host
        self._port = port
        self._token = token
        self.bridge_type = BridgeType(bridge_type)
        self.server_id = server_id
        self.hardware_id = hardware_id
        self.firmware_version = firmware_version
        self.wifi_firmware_version = wifi_firmware_version
        self.service_delay = service_delay
        self.action_duration = action_duration
        self.strict = strict
        self.auth_window = auth_window
        self.ring_reset = ring_reset
        self.callback_timeout = callback_timeout
        self.reboot_duration = reboot_duration
        self.server_connected = server_connected
        self.clock_offset: float = 0.0
        self.on_request: Callable[[RequestRecord], None] | None = None
        self.on_callback_sent: Callable[[str, dict, float], None] | None = None

        self._clock = clock
        self._verifier = TokenVerifier(token, self.now)
        self._state = BridgeState(now=self.now)
        self._slot = threading.Lock()
        self._stopping = threading.Event()
        self._button = threading.Condition()
        self._button_pressed_at: float | None = None
        for device in devices if devices is not None else default_devices():
            if device.nuki_id in self._state.devices:
                raise ValueError(f"duplicate nukiId {device.device_id}")
            self._state.devices[device.nuki_id] = device.copy()
        self._injected: deque[int] = deque()
        self._records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self._ring_generation: dict[int, int] = {}
        self._timers: set[threading.Timer] = set()
        self._workers: set[threading.Thread] = set()
        self._sender = CallbackSender(self)
        self._api = BridgeApi(self)
        self._server: Server | None = None
        self._server_thread: threading.Thread | None = None
        self._server_lock = threading.Lock()
        self._started = False

    def __repr__(self) -> str:
        return f"<BridgeSimulator {self.url} {self.bridge_type.label}>"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "BridgeSimulator":
        if self._started:
            return self
        now = self.now()
        with self._state.lock:
            for device in self._state.devices.values():
                if device.updated_at is None:
                    device.updated_at = now
        self._listen()
        self._sender.start()
        self._started = True
        self._state.booted_at = time.monotonic()
        self._state.log_event("startup")
        logger.debug("bridge simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._button:
            self._button.notify_all()
        self.go_down()
        with self._state.lock:
            timers = list(self._timers)
            workers = list(self._workers)
        for timer in timers:
            timer.cancel()
        for worker in workers:
            worker.join(timeout=1.0)
        if self._started:
            self._sender.stop()

    def __enter__(self) -> "BridgeSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def go_down(self) -> None:
        """Close the listening socket: new connections are refused until come_back()."""
        with self._server_lock:
            server, thread = self._server, self._server_thread
            self._server = self._server_thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=2.0)

    def come_back(self) -> None:
        """Listen again on the same port."""
        if not self._stopping.is_set():
            self._listen()

    def _listen(self) -> None:
        with self._server_lock:
            if self._server is not None:
                return
            server = Server((self._host, self._port), self._handle, self.now)
            self._port = server.server_address[1]
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="nuki-sim-http", daemon=True
            )
            self._server, self._server_thread = server, thread
            thread.start()

    def reboot(self) -> None:
        """Go down for ``reboot_duration`` seconds and come back (blocks; ``/reboot`` runs it in a worker)."""
        self.go_down()
        if self._stopping.wait(self.reboot_duration):
            return
        self._state.booted_at = time.monotonic()
        try:
            self.come_back()
        except OSError as exc:
            logger.error("bridge simulator could not listen again on port %s after reboot: %s", self._port, exc)
            return
        self._state.log_event("startup")

    @property
    def is_up(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------ read-only views

    @property
    def state(self) -> BridgeState:
        """The bridge's mutable state (hold ``state.lock``); the endpoints serve from it."""
        return self._state

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def token(self) -> str:
        return self._token

    @property
    def auth_enabled(self) -> bool:
        return self._state.auth_enabled

    @property
    def callback_urls(self) -> list[str]:
        with self._state.lock:
            return list(self._state.callbacks)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._state.lock:
            return list(self._records)

    @property
    def busy_rejections(self) -> int:
        return self._state.busy_rejections

    @property
    def devices(self) -> list[SimDevice]:
        with self._state.lock:
            return [d.copy() for d in self._state.devices.values()]

    def device(self, nuki_id: int) -> SimDevice:
        """A snapshot of one paired device; KeyError when unknown."""
        with self._state.lock:
            return self._state.device(nuki_id).copy()

    def now(self) -> float:
        """The bridge's clock (epoch seconds), skewed by ``clock_offset``."""
        return self._clock() + self.clock_offset

    def state_json(self) -> dict[str, Any]:
        """Everything the control endpoint shows: the bridge's settings and every device."""
        state = self._state
        with state.lock:
            return {
                "bridge": {
                    "url": self.url,
                    "bridgeType": self.bridge_type.label,
                    "serverId": self.server_id,
                    "authEnabled": state.auth_enabled,
                    "callbacks": list(state.callbacks),
                    "busyRejections": state.busy_rejections,
                    "requests": len(self._records),
                    "currentTime": zulu_timestamp(self.now()),
                },
                "devices": [snapshot_json(d) for d in state.devices.values()],
            }

    # ------------------------------------------------------------ the physical world

    def press_button(self) -> None:
        """The bridge's button: completes a waiting /auth, or one made within BUTTON_GRACE seconds."""
        with self._button:
            self._button_pressed_at = time.monotonic()
            self._button.notify_all()

    def wait_for_button(self, started: float) -> bool:
        """Whether the button is pressed within ``auth_window`` of ``started`` (a ``time.monotonic()``).

        A press up to BUTTON_GRACE seconds before ``started`` counts, and is used up; False on stop().
        """
        deadline = started + self.auth_window
        with self._button:
            while not self._stopping.is_set():
                pressed = self._button_pressed_at
                if pressed is not None and pressed >= started - BUTTON_GRACE:
                    self._button_pressed_at = None
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._button.wait(remaining)
        return False

    def inject_errors(self, status: int = 503, count: int = 1) -> None:
        """The next ``count`` bridge requests are answered with ``status``."""
        with self._state.lock:
            self._injected.extend([int(status)] * int(count))

    def set_service_delay(self, seconds: float) -> None:
        self.service_delay = seconds

    def set_action_duration(self, seconds: float) -> None:
        self.action_duration = seconds

    def set_device_offline(self, nuki_id: int, offline: bool = True) -> None:
        with self._state.lock:
            self._state.device(nuki_id).offline = offline

    def fail_next_action(self, nuki_id: int) -> None:
        """The device's next action jams: a lock ends in motor blocked, an opener does nothing; success false."""
        with self._state.lock:
            self._state.device(nuki_id)
            self._state.jammed.add(nuki_id)

    def set_lock_state(self, nuki_id: int, state: int, mode: int | None = None) -> None:
        """An external change (manual turn, the app, the keypad): fires the callback."""
        with self._state.lock:
            device = self._state.device(nuki_id)
            valid = OpenerState if device.is_opener else LockState
            state = int(valid(state))
            new_mode = device.mode if mode is None else int(Mode(mode))
            self._apply(device, new_mode, state)

    def set_door_sensor(self, nuki_id: int, state: int) -> None:
        """The door sensor reports a state (a lock without one gets one): fires the callback."""
        state = int(DoorSensorState(state))
        if state == DoorSensorState.UNAVAILABLE:
            raise ValueError("0 is not a bridge door sensor state")
        with self._state.lock:
            device = self._state.device(nuki_id)
            if device.is_opener:
                raise ValueError("an opener has no door sensor")
            device.door_sensor = state
            self._touch_and_emit(device)

    def set_battery(
        self,
        nuki_id: int,
        charge: int | None = None,
        critical: bool | None = None,
        charging: bool | None = None,
        keypad_critical: bool | None = None,
    ) -> None:
        """Battery news from the device: fires the callback."""
        with self._state.lock:
            device = self._state.device(nuki_id)
            if charge is not None:
                if not 0 <= charge <= 100:
                    raise ValueError("charge must be 0..100")
                device.battery_charge = int(charge)
            if critical is not None:
                device.battery_critical = bool(critical)
            if charging is not None:
                device.battery_charging = bool(charging)
            if keypad_critical is not None:
                device.has_keypad = True
                device.keypad_battery_critical = bool(keypad_critical)
            self._touch_and_emit(device)

    def ring(self, nuki_id: int) -> None:
        """The opener's doorbell: ringactionState true and a callback; opens if RTO or continuous mode."""
        with self._state.lock:
            device = self._state.device(nuki_id)
            if not device.is_opener:
                raise ValueError(f"{device.device_id} is not an opener")
            device.ring_action_state = True
            device.ring_action_timestamp = self.now()
            self._touch_and_emit(device)
            generation = self._ring_generation.get(nuki_id, 0) + 1
            self._ring_generation[nuki_id] = generation
            steps = ring_steps(device)
            timer = threading.Timer(self.ring_reset, self._reset_ring, args=(nuki_id, generation))
            timer.daemon = True
            self._timers.add(timer)
        self._state.log_event("ring", nukiId=nuki_id)
        timer.start()
        if steps:
            self.spawn(self.run_steps, nuki_id, steps, False)

    def _reset_ring(self, nuki_id: int, generation: int) -> None:
        with self._state.lock:
            self._timers.discard(threading.current_thread())  # type: ignore[arg-type]
            device = self._state.devices.get(nuki_id)
            if device is not None and self._ring_generation.get(nuki_id) == generation:
                device.ring_action_state = False

    # ------------------------------------------------------------ state changes

    def _touch_and_emit(self, device: SimDevice) -> None:
        """Caller holds the lock, so callbacks are queued in the order the changes happened."""
        device.updated_at = self.now()
        if self._state.callbacks:
            self._sender.put(callback_json(device))

    def _apply(self, device: SimDevice, mode: int, state: int) -> None:
        device.mode, device.state = mode, state
        self._touch_and_emit(device)

    def run_steps(self, nuki_id: int, steps: list[tuple[int, int]], jammed: bool) -> bool:
        """Walk an action's (mode, state) steps, ``action_duration`` apart, a callback each.

        The outcome is the real one: False when jammed, unpaired meanwhile or stopped.
        """
        for index, (mode, state) in enumerate(steps):
            if index and self._stopping.wait(self.action_duration):
                return False
            with self._state.lock:
                device = self._state.devices.get(nuki_id)
                if device is None:  # unpaired meanwhile
                    return False
                self._apply(device, mode, state)
        return not jammed

    def spawn(self, target: Callable[..., Any], *args: Any) -> threading.Thread:
        """Run ``target(*args)`` in a worker thread that stop() joins; an exception is logged, not raised."""

        def run() -> None:
            try:
                target(*args)
            except Exception:  # noqa: BLE001 - a bug here must not print a traceback mid-demo
                logger.error("simulator worker failed", exc_info=True)
            finally:
                with self._state.lock:
                    self._workers.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="nuki-sim-action", daemon=True)
        with self._state.lock:
            self._workers.add(thread)
        thread.start()
        return thread

    # ------------------------------------------------------------ HTTP entry

    def _handle(self, method: str, raw_path: str, arrived: float | None = None) -> Reply:
        """The answer to one request: the server calls it; ``arrived`` is its perf_counter() at accept."""
        split = urlsplit(raw_path)
        if split.path.startswith("/_sim/"):
            return handle_control(self, method, split.path, split.query)
        try:
            params: dict[str, str] | None = parse_query(split.query)
        except ValueError:
            params = None
        public = {k: v for k, v in (params or {}).items() if k not in SECRET_PARAMS}
        record = RequestRecord(split.path, public, 0, time.perf_counter())
        with self._state.lock:
            self._records.append(record)
        hook = self.on_request
        if hook is not None:
            try:
                hook(record)
            except Exception:  # noqa: BLE001 - a test hook must not break the bridge
                logger.debug("on_request raised", exc_info=True)
        reply = self._serve(method, split.path, params, arrived if arrived is not None else record.received_at)
        record.status = reply.status
        return reply

    def _serve(self, method: str, path: str, params: dict[str, str] | None, arrived: float) -> Reply:
        with self._state.lock:
            injected = self._injected.popleft() if self._injected else None
        if injected is not None:
            return Reply(injected)
        if not self._acquire_slot():
            with self._state.lock:
                self._state.busy_rejections += 1
            return Reply(503)
        try:
            # Service time is arrival-to-answer, as a bridge's is: the work (token check, an
            # action's state changes and their callbacks) happens inside it, and the answer
            # leaves service_delay after the request arrived, not service_delay plus our own work.
            reply = self._dispatch(method, path, params)
            remaining = self.service_delay - (time.perf_counter() - arrived)
            if remaining > 0:
                self._stopping.wait(remaining)
            return reply
        finally:
            # Released before the answer is written, so a client that sends its next
            # request as soon as it has the answer never finds the slot still taken.
            self._slot.release()

    def _acquire_slot(self) -> bool:
        if self.strict:
            return self._slot.acquire(blocking=False)
        while not self._stopping.is_set():
            if self._slot.acquire(timeout=0.1):
                return True
        return False

    def _dispatch(self, method: str, path: str, params: dict[str, str] | None) -> Reply:
        route = self._api.routes().get(path)
        if route is None:
            return Reply(404)
        endpoint, needs_token, hardware_only = route
        if hardware_only and self.bridge_type is not BridgeType.HARDWARE:
            return Reply(404)
        if method != "GET":
            return Reply(405)
        if params is None:
            return Reply(400)
        if needs_token:
            try:
                self._verifier.verify(params)
            except AuthFailure as exc:
                logger.debug("401 on %s: %s", path, exc)
                return Reply(401)
        try:
            return endpoint(params)
        except HttpError as exc:
            logger.debug("%s on %s: %s", exc.status, path, exc)
            return Reply(exc.status)
