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
"""
from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Queue
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from nuki2mqtt.const import (
    LabelledEnum,
    MAX_CALLBACK_URL_LENGTH,
    MAX_CALLBACKS,
    BridgeType,
    DeviceType,
    DoorSensorState,
    LockAction,
    LockState,
    Mode,
    OpenerState,
)
from nuki2mqtt.simulator.auth import SECRET_PARAMS, AuthFailure, TokenVerifier
from nuki2mqtt.simulator.devices import (
    SimDevice,
    action_steps,
    callback_json,
    default_devices,
    failed_steps,
    iso_timestamp,
    list_entry,
    lock_state_json,
    ring_steps,
    scan_result,
    simple_action_steps,
    snapshot_json,
    zulu_timestamp,
)

logger = logging.getLogger(__name__)

DEFAULT_SERVER_ID = 2117604523
DEFAULT_HARDWARE_ID = 487751234
#: A button press this long before an /auth still completes it.
BUTTON_GRACE = 5.0
#: Bounded memories: request records kept, bridge log entries kept.
MAX_RECORDS = 50_000
MAX_LOG_ENTRIES = 1_000

_REDACT_RE = re.compile(r"((?:token|ctoken|nonce|hash)=)[^&\s'\"]*", re.IGNORECASE)
_INT_RE = re.compile(r"-?\d{1,10}")
_DEVICE_PATHS = frozenset({"/lockState", "/lockAction", "/lock", "/unlock", "/unpair"})


@dataclass
class RequestRecord:
    """One bridge request. ``status`` is 0 until answered (``on_request`` sees it at arrival).

    ``params`` has the token parameters (token, ctoken, nonce, hash) removed.
    """

    path: str
    params: dict[str, str]
    status: int
    received_at: float


@dataclass
class _Reply:
    status: int
    body: Any = None  # JSON-able; None means an empty body
    after: Callable[[], object] | None = field(default=None, repr=False)

    def payload(self) -> tuple[bytes, str]:
        if self.status >= 400:
            text = f"HTTP {self.status} {_phrase(self.status)}"
            return text.encode("ascii"), "text/plain"
        if self.body is None:
            return b"", "text/plain"
        return json.dumps(self.body).encode("utf-8"), "application/json"


class _HttpError(Exception):
    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(reason)
        self.status = status


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _redact(text: str) -> str:
    return _REDACT_RE.sub(r"\1***", text)


def _parse_query(query: str) -> dict[str, str]:
    """Query parameters, last value wins; ValueError on a malformed query."""
    pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=64)
    return dict(pairs)


def _int_param(
    params: Mapping[str, str],
    name: str,
    *,
    default: int | None = None,
    required: bool = False,
    choices: Iterable[int] | None = None,
) -> int | None:
    """An integer parameter; blank counts as absent (the document's own example sends ``deviceType=``)."""
    raw = params.get(name, "").strip()
    if not raw:
        if required:
            raise _HttpError(400, f"{name} missing")
        return default
    if not _INT_RE.fullmatch(raw):
        raise _HttpError(400, f"{name} is not an integer")
    value = int(raw)
    if choices is not None and value not in set(choices):
        raise _HttpError(400, f"{name} {value} not allowed")
    return value


def _bool_param(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true"):
        return True
    if raw in ("0", "false"):
        return False
    raise _HttpError(400, f"{name} must be 0 or 1")


def _enum_param(enum: type[LabelledEnum], raw: str) -> int:
    raw = raw.strip()
    if _INT_RE.fullmatch(raw):
        try:
            return int(enum(int(raw)))
        except ValueError:
            raise _HttpError(400, f"{raw} is not a valid state") from None
    member = enum.__members__.get(raw.upper().replace(" ", "_"))
    if member is None:
        raise _HttpError(400, f"{raw} is not a valid state")
    return int(member)


def _source_address(host: str) -> tuple[str, int] | None:
    """The local address callbacks are sent from: the bridge's own (None when it listens on all)."""
    if host in ("", "0.0.0.0", "::"):
        return None
    try:
        return (str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0]), 0)
    except OSError:
        return None


class _Server(ThreadingHTTPServer):
    """Threads per request so a second concurrent request arrives and can be refused."""

    daemon_threads = True
    block_on_close = False  # a /auth waiting for the button must not hold up go_down()
    allow_reuse_address = True  # come_back() binds the same port right after go_down()
    request_queue_size = 16

    def __init__(self, address: tuple[str, int], sim: "BridgeSimulator") -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sim = sim
        self.arrivals: dict[int, float] = {}  # id(connection) -> perf_counter() at accept
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        # The moment a request reaches the bridge, before our thread and parsing cost anything:
        # service time is measured from here.
        self.arrivals[id(request)] = time.perf_counter()
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "NukiBridgeSimulator/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the simulated clock (clock_offset), as a skewed bridge's would.
        return super().date_time_string(self.server.sim.now() if timestamp is None else timestamp)

    def setup(self) -> None:
        # One request per connection (HTTP/1.0, Connection: close): accept time is arrival time.
        self.arrived: float | None = self.server.arrivals.pop(id(self.request), None)
        super().setup()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            reply = self.server.sim._handle(method, self.path, self.arrived)
        except Exception:  # noqa: BLE001 - never a traceback on the wire
            logger.debug("error serving %s", _redact(self.path), exc_info=True)
            reply = _Reply(500)
        body, content_type = reply.payload()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            logger.debug("client went away before the answer to %s", urlsplit(self.path).path)
        if reply.after is not None:
            reply.after()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s", _redact(format % args))


class _CallbackSender:
    """One thread POSTs every state change to every URL, in order; a failing URL is skipped."""

    def __init__(self, sim: "BridgeSimulator") -> None:
        self._sim = sim
        self._queue: Queue[dict[str, Any] | None] = Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nuki-sim-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=self._sim.callback_timeout + 1.0)

    def put(self, body: dict[str, Any]) -> None:
        self._queue.put(body)

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            for url in self._sim.callback_urls:
                self._post(url, body)

    def _post(self, url: str, body: dict[str, Any]) -> None:
        sim = self._sim
        parts = urlsplit(url)
        data = json.dumps(body).encode("utf-8")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hook = sim.on_callback_sent
        if hook is not None:
            try:
                hook(url, body, time.perf_counter())
            except Exception:  # noqa: BLE001 - a test hook must not stop delivery
                logger.debug("on_callback_sent raised", exc_info=True)
        try:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port or 80, timeout=sim.callback_timeout, source_address=sim._source
            )
            try:
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                status = conn.getresponse().status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.info("callback to %s failed: %s", url, exc)
            sim._log_event("callback-failed", url=url)
            return
        if status >= 400:
            logger.info("callback to %s answered %s", url, status)
        sim._log_event("callback", url=url, nukiId=body.get("nukiId"), status=status)


class BridgeSimulator:
    """A simulated Nuki Bridge serving the Bridge HTTP API on ``host:port``.

    Use ``start()``/``stop()`` or a ``with`` block. Times of day (token windows, timestamps)
    come from ``clock() + clock_offset``; durations use real time.
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
        self._source = _source_address(host)
        self._verifier = TokenVerifier(token, self.now)
        self._lock = threading.RLock()
        self._slot = threading.Lock()
        self._stopping = threading.Event()
        self._button = threading.Condition()
        self._button_pressed_at: float | None = None
        self._devices: dict[int, SimDevice] = {}
        self._unpaired: list[SimDevice] = []
        for device in devices if devices is not None else default_devices():
            if device.nuki_id in self._devices:
                raise ValueError(f"duplicate nukiId {device.device_id}")
            self._devices[device.nuki_id] = device.copy()
        self._callbacks: list[str] = []
        self._auth_enabled = True
        self._injected: deque[int] = deque()
        self._records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self._busy_rejections = 0
        self._actions_running = 0
        self._jammed: set[int] = set()
        self._ring_generation: dict[int, int] = {}
        self._timers: set[threading.Timer] = set()
        self._workers: set[threading.Thread] = set()
        self._log: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._sender = _CallbackSender(self)
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._server_lock = threading.Lock()
        self._booted_at = time.monotonic()
        self._started = False

    def __repr__(self) -> str:
        return f"<BridgeSimulator {self.url} {self.bridge_type.label}>"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "BridgeSimulator":
        if self._started:
            return self
        now = self.now()
        with self._lock:
            for device in self._devices.values():
                if device.updated_at is None:
                    device.updated_at = now
        self._listen()
        self._sender.start()
        self._started = True
        self._booted_at = time.monotonic()
        self._log_event("startup")
        logger.debug("bridge simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._button:
            self._button.notify_all()
        self.go_down()
        with self._lock:
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
            server = _Server((self._host, self._port), self)
            self._port = server.server_address[1]
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="nuki-sim-http", daemon=True
            )
            self._server, self._server_thread = server, thread
            thread.start()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------ read-only views

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
        return self._auth_enabled

    @property
    def callback_urls(self) -> list[str]:
        with self._lock:
            return list(self._callbacks)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    @property
    def busy_rejections(self) -> int:
        return self._busy_rejections

    @property
    def devices(self) -> list[SimDevice]:
        with self._lock:
            return [d.copy() for d in self._devices.values()]

    def device(self, nuki_id: int) -> SimDevice:
        """A snapshot of one paired device; KeyError when unknown."""
        with self._lock:
            return self._get(nuki_id).copy()

    def now(self) -> float:
        """The bridge's clock (epoch seconds), skewed by ``clock_offset``."""
        return self._clock() + self.clock_offset

    # ------------------------------------------------------------ the physical world

    def press_button(self) -> None:
        """The bridge's button: completes a waiting /auth, or one made within BUTTON_GRACE seconds."""
        with self._button:
            self._button_pressed_at = time.monotonic()
            self._button.notify_all()

    def inject_errors(self, status: int = 503, count: int = 1) -> None:
        """The next ``count`` bridge requests are answered with ``status``."""
        with self._lock:
            self._injected.extend([int(status)] * int(count))

    def set_service_delay(self, seconds: float) -> None:
        self.service_delay = seconds

    def set_action_duration(self, seconds: float) -> None:
        self.action_duration = seconds

    def set_device_offline(self, nuki_id: int, offline: bool = True) -> None:
        with self._lock:
            self._get(nuki_id).offline = offline

    def fail_next_action(self, nuki_id: int) -> None:
        """The device's next action jams: a lock ends in motor blocked, an opener does nothing; success false."""
        with self._lock:
            self._get(nuki_id)
            self._jammed.add(nuki_id)

    def set_lock_state(self, nuki_id: int, state: int, mode: int | None = None) -> None:
        """An external change (manual turn, the app, the keypad): fires the callback."""
        with self._lock:
            device = self._get(nuki_id)
            valid = OpenerState if device.is_opener else LockState
            state = int(valid(state))
            new_mode = device.mode if mode is None else int(Mode(mode))
            self._apply(device, new_mode, state)

    def set_door_sensor(self, nuki_id: int, state: int) -> None:
        """The door sensor reports a state (a lock without one gets one): fires the callback."""
        state = int(DoorSensorState(state))
        if state == DoorSensorState.UNAVAILABLE:
            raise ValueError("0 is not a bridge door sensor state")
        with self._lock:
            device = self._get(nuki_id)
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
        with self._lock:
            device = self._get(nuki_id)
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
        with self._lock:
            device = self._get(nuki_id)
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
        self._log_event("ring", nukiId=nuki_id)
        timer.start()
        if steps:
            self._spawn(self._run_steps, nuki_id, steps, False)

    def _reset_ring(self, nuki_id: int, generation: int) -> None:
        with self._lock:
            self._timers.discard(threading.current_thread())  # type: ignore[arg-type]
            device = self._devices.get(nuki_id)
            if device is not None and self._ring_generation.get(nuki_id) == generation:
                device.ring_action_state = False

    # ------------------------------------------------------------ state changes

    def _get(self, nuki_id: int) -> SimDevice:
        device = self._devices.get(int(nuki_id))
        if device is None:
            raise KeyError(f"no paired device with nukiId {nuki_id}")
        return device

    def _touch_and_emit(self, device: SimDevice) -> None:
        """Caller holds the lock, so callbacks are queued in the order the changes happened."""
        device.updated_at = self.now()
        if self._callbacks:
            self._sender.put(callback_json(device))

    def _apply(self, device: SimDevice, mode: int, state: int) -> None:
        device.mode, device.state = mode, state
        self._touch_and_emit(device)

    def _run_steps(self, nuki_id: int, steps: list[tuple[int, int]], jammed: bool) -> bool:
        """Walk an action's states, ``action_duration`` apart; the outcome is the real one."""
        for index, (mode, state) in enumerate(steps):
            if index and self._stopping.wait(self.action_duration):
                return False
            with self._lock:
                device = self._devices.get(nuki_id)
                if device is None:  # unpaired meanwhile
                    return False
                self._apply(device, mode, state)
        return not jammed

    def _spawn(self, target: Callable[..., Any], *args: Any) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except Exception:  # noqa: BLE001 - a bug here must not print a traceback mid-demo
                logger.error("simulator worker failed", exc_info=True)
            finally:
                with self._lock:
                    self._workers.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="nuki-sim-action", daemon=True)
        with self._lock:
            self._workers.add(thread)
        thread.start()
        return thread

    def _log_event(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._log.append({"timestamp": iso_timestamp(self.now()), "type": kind, **fields})

    # ------------------------------------------------------------ HTTP entry

    def _handle(self, method: str, raw_path: str, arrived: float | None = None) -> _Reply:
        split = urlsplit(raw_path)
        if split.path.startswith("/_sim/"):
            return self._control(method, split.path, split.query)
        try:
            params: dict[str, str] | None = _parse_query(split.query)
        except ValueError:
            params = None
        public = {k: v for k, v in (params or {}).items() if k not in SECRET_PARAMS}
        record = RequestRecord(split.path, public, 0, time.perf_counter())
        with self._lock:
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

    def _serve(self, method: str, path: str, params: dict[str, str] | None, arrived: float) -> _Reply:
        with self._lock:
            injected = self._injected.popleft() if self._injected else None
        if injected is not None:
            return _Reply(injected)
        if not self._acquire_slot():
            with self._lock:
                self._busy_rejections += 1
            return _Reply(503)
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

    def _dispatch(self, method: str, path: str, params: dict[str, str] | None) -> _Reply:
        route = self._routes().get(path)
        if route is None:
            return _Reply(404)
        endpoint, needs_token, hardware_only = route
        if hardware_only and self.bridge_type is not BridgeType.HARDWARE:
            return _Reply(404)
        if method != "GET":
            return _Reply(405)
        if params is None:
            return _Reply(400)
        if needs_token:
            try:
                self._verifier.verify(params)
            except AuthFailure as exc:
                logger.debug("401 on %s: %s", path, exc)
                return _Reply(401)
        try:
            return endpoint(params)
        except _HttpError as exc:
            logger.debug("%s on %s: %s", exc.status, path, exc)
            return _Reply(exc.status)

    def _routes(self) -> dict[str, tuple[Callable[[dict[str, str]], _Reply], bool, bool]]:
        """path -> (endpoint, needs a token, hardware bridge only)."""
        return {
            "/auth": (self._ep_auth, False, False),
            "/configAuth": (self._ep_config_auth, True, False),
            "/list": (self._ep_list, True, False),
            "/lockState": (self._ep_lock_state, True, False),
            "/lockAction": (self._ep_lock_action, True, False),
            "/lock": (self._ep_simple_lock, True, False),
            "/unlock": (self._ep_simple_unlock, True, False),
            "/unpair": (self._ep_unpair, True, True),
            "/info": (self._ep_info, True, False),
            "/callback/add": (self._ep_callback_add, True, False),
            "/callback/list": (self._ep_callback_list, True, False),
            "/callback/remove": (self._ep_callback_remove, True, False),
            "/log": (self._ep_log, True, True),
            "/clearlog": (self._ep_clearlog, True, True),
            "/fwupdate": (self._ep_fwupdate, True, True),
            "/reboot": (self._ep_reboot, True, True),
            "/factoryReset": (self._ep_factory_reset, True, True),
        }

    # ------------------------------------------------------------ endpoints

    def _ep_auth(self, params: dict[str, str]) -> _Reply:
        if not self._auth_enabled:
            return _Reply(403)
        self._log_event("auth-started")
        if self._wait_for_button(time.monotonic()):
            self._log_event("auth-granted")
            return _Reply(200, {"token": self._token, "success": True})
        return _Reply(200, {"success": False})

    def _wait_for_button(self, started: float) -> bool:
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

    def _ep_config_auth(self, params: dict[str, str]) -> _Reply:
        enable = params.get("enable")
        if enable not in ("0", "1"):
            raise _HttpError(400, "enable must be 0 or 1")
        self._auth_enabled = enable == "1"
        return _Reply(200, {"success": True})

    def _ep_list(self, params: dict[str, str]) -> _Reply:
        now = self.now()
        with self._lock:
            return _Reply(200, [list_entry(d, now) for d in self._devices.values()])

    def _device_for(self, params: dict[str, str]) -> SimDevice:
        """The device a request names by nukiId and deviceType (default 0); 404 if not paired as that."""
        nuki_id = _int_param(params, "nukiId", required=True)
        device_type = _int_param(params, "deviceType", default=0, choices=[int(t) for t in DeviceType])
        with self._lock:
            device = self._devices.get(nuki_id or 0)
            if device is None or device.device_type != device_type:
                raise _HttpError(404, "unknown device")
            return device

    def _check_reachable(self, device: SimDevice) -> None:
        with self._lock:
            if device.offline:
                raise _HttpError(503, "device offline")
            if self._actions_running:
                self._busy_rejections += 1
                raise _HttpError(503, "busy with another device command")

    def _ep_lock_state(self, params: dict[str, str]) -> _Reply:
        device = self._device_for(params)
        self._check_reachable(device)
        with self._lock:
            device.updated_at = self.now()
            return _Reply(200, lock_state_json(device))

    def _ep_lock_action(self, params: dict[str, str]) -> _Reply:
        device = self._device_for(params)
        action = _int_param(params, "action", required=True, choices=[int(a) for a in LockAction])
        nowait = _int_param(params, "nowait", default=0, choices=(0, 1))
        self._check_reachable(device)
        with self._lock:
            try:
                steps = action_steps(device, action or 0)
            except (ValueError, KeyError):
                raise _HttpError(400, "action not valid for this device") from None
        return self._perform(device, steps, bool(nowait), f"action {action}")

    def _ep_simple_lock(self, params: dict[str, str]) -> _Reply:
        return self._simple(params, "lock")

    def _ep_simple_unlock(self, params: dict[str, str]) -> _Reply:
        return self._simple(params, "unlock")

    def _simple(self, params: dict[str, str], name: str) -> _Reply:
        device = self._device_for(params)
        self._check_reachable(device)
        with self._lock:
            steps = simple_action_steps(device, name)
        return self._perform(device, steps, False, name)

    def _perform(self, device: SimDevice, steps: list[tuple[int, int]], nowait: bool, what: str) -> _Reply:
        nuki_id = device.nuki_id
        with self._lock:
            jammed = nuki_id in self._jammed
            self._jammed.discard(nuki_id)
            if jammed:
                steps = failed_steps(device, steps)
            self._actions_running += 1
        self._log_event("lock-action", nukiId=nuki_id, action=what, nowait=nowait)

        def run() -> bool:
            try:
                return self._run_steps(nuki_id, steps, jammed)
            finally:
                with self._lock:
                    self._actions_running -= 1

        if nowait:
            self._spawn(run)
            success = True
        else:
            success = run()
        with self._lock:
            critical = device.battery_critical
        return _Reply(200, {"success": success, "batteryCritical": critical})

    def _ep_unpair(self, params: dict[str, str]) -> _Reply:
        device = self._device_for(params)
        self._check_reachable(device)
        with self._lock:
            self._devices.pop(device.nuki_id, None)
            self._unpaired.append(device)
        self._log_event("unpair", nukiId=device.nuki_id)
        return _Reply(200, {"success": True})

    def _ep_info(self, params: dict[str, str]) -> _Reply:
        hardware = self.bridge_type is BridgeType.HARDWARE
        ids: dict[str, Any] = {"hardwareId": self.hardware_id} if hardware else {}
        ids["serverId"] = self.server_id
        if hardware:
            versions = {"firmwareVersion": self.firmware_version, "wifiFirmwareVersion": self.wifi_firmware_version}
        else:
            versions = {"appVersion": self.firmware_version}
        with self._lock:
            scans = [scan_result(d, i) for i, d in enumerate(self._devices.values())]
            offset = len(scans)
            scans += [scan_result(d, offset + i, paired=False) for i, d in enumerate(self._unpaired)]
        return _Reply(
            200,
            {
                "bridgeType": int(self.bridge_type),
                "ids": ids,
                "versions": versions,
                "uptime": int(time.monotonic() - self._booted_at),
                "currentTime": zulu_timestamp(self.now()),
                "serverConnected": self.server_connected,
                "scanResults": scans,
            },
        )

    def _ep_callback_add(self, params: dict[str, str]) -> _Reply:
        url = params.get("url", "").strip()
        if not url:
            raise _HttpError(400, "url missing")
        if len(url) > MAX_CALLBACK_URL_LENGTH:
            raise _HttpError(400, "url too long")
        if not url.lower().startswith("http://"):
            raise _HttpError(400, "only http:// callback URLs")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise _HttpError(400, "invalid url") from None
        if not parts.hostname:
            raise _HttpError(400, "url without host")
        with self._lock:
            if url in self._callbacks:
                return _Reply(200, {"success": False, "message": "callback already added"})
            if len(self._callbacks) >= MAX_CALLBACKS:
                return _Reply(200, {"success": False, "message": "maximum number of callbacks reached"})
            self._callbacks.append(url)
        self._log_event("callback-added", url=url)
        return _Reply(200, {"success": True})

    def _ep_callback_list(self, params: dict[str, str]) -> _Reply:
        with self._lock:
            return _Reply(200, {"callbacks": [{"id": i, "url": u} for i, u in enumerate(self._callbacks)]})

    def _ep_callback_remove(self, params: dict[str, str]) -> _Reply:
        callback_id = _int_param(params, "id", required=True)
        with self._lock:
            if callback_id is None or not 0 <= callback_id < len(self._callbacks):
                return _Reply(200, {"success": False, "message": "no callback with this id"})
            url = self._callbacks.pop(callback_id)
        self._log_event("callback-removed", url=url)
        return _Reply(200, {"success": True})

    def _ep_log(self, params: dict[str, str]) -> _Reply:
        offset = _int_param(params, "offset", default=0)
        count = _int_param(params, "count", default=100)
        if (offset or 0) < 0 or (count or 0) < 0:
            raise _HttpError(400, "offset and count must not be negative")
        with self._lock:
            newest_first = list(reversed(self._log))
        return _Reply(200, newest_first[offset or 0 : (offset or 0) + (count or 0)])

    def _ep_clearlog(self, params: dict[str, str]) -> _Reply:
        with self._lock:
            self._log.clear()
        return _Reply(200)

    def _ep_fwupdate(self, params: dict[str, str]) -> _Reply:
        scope = _int_param(params, "scope", default=0, choices=(0, 1, 2))
        target = None
        if params.get("nukiId", "").strip():
            target = self._device_for(params).nuki_id
        self._log_event("fwupdate", scope=scope, **({"nukiId": target} if target is not None else {}))
        return _Reply(200)

    def _ep_reboot(self, params: dict[str, str]) -> _Reply:
        self._log_event("reboot")
        return _Reply(200, after=lambda: self._spawn(self._reboot))

    def _ep_factory_reset(self, params: dict[str, str]) -> _Reply:
        def reset_and_reboot() -> None:
            with self._lock:
                self._callbacks.clear()
                self._devices.clear()
                self._unpaired.clear()
                self._log.clear()
                self._auth_enabled = True
            self._spawn(self._reboot)

        return _Reply(200, after=reset_and_reboot)

    def _reboot(self) -> None:
        self.go_down()
        if self._stopping.wait(self.reboot_duration):
            return
        self._booted_at = time.monotonic()
        try:
            self.come_back()
        except OSError as exc:
            logger.error("bridge simulator could not listen again on port %s after reboot: %s", self._port, exc)
            return
        self._log_event("startup")

    # ------------------------------------------------------------ control endpoints

    def _control(self, method: str, path: str, query: str) -> _Reply:
        try:
            params = _parse_query(query)
        except ValueError:
            return _Reply(400)
        if path == "/_sim/state":
            return _Reply(200, self.state_json()) if method == "GET" else _Reply(405)
        actions: dict[str, Callable[[dict[str, str]], None]] = {
            "/_sim/button": lambda p: self.press_button(),
            "/_sim/ring": lambda p: self.ring(self._control_id(p)),
            "/_sim/door": lambda p: self.set_door_sensor(
                self._control_id(p), _enum_param(DoorSensorState, p.get("state", ""))
            ),
            "/_sim/lockstate": self._control_lock_state,
            "/_sim/battery": lambda p: self.set_battery(
                self._control_id(p),
                charge=_int_param(p, "charge", choices=range(101)),
                critical=_bool_param(p, "critical"),
                charging=_bool_param(p, "charging"),
                keypad_critical=_bool_param(p, "keypadCritical"),
            ),
        }
        action = actions.get(path)
        if action is None:
            return _Reply(404)
        if method != "POST":
            return _Reply(405)
        try:
            action(params)
        except _HttpError as exc:
            return _Reply(exc.status)
        except KeyError:
            return _Reply(404)
        except ValueError:
            return _Reply(400)
        return _Reply(200, {"success": True})

    def _control_id(self, params: dict[str, str]) -> int:
        nuki_id = _int_param(params, "nukiId", required=True) or 0
        with self._lock:
            if nuki_id not in self._devices:
                raise _HttpError(404, "unknown device")
        return nuki_id

    def _control_lock_state(self, params: dict[str, str]) -> None:
        nuki_id = self._control_id(params)
        with self._lock:
            enum = OpenerState if self._devices[nuki_id].is_opener else LockState
        self.set_lock_state(nuki_id, _enum_param(enum, params.get("state", "")))

    def state_json(self) -> dict[str, Any]:
        """Everything the control endpoint shows: the bridge's settings and every device."""
        with self._lock:
            return {
                "bridge": {
                    "url": self.url,
                    "bridgeType": self.bridge_type.label,
                    "serverId": self.server_id,
                    "authEnabled": self._auth_enabled,
                    "callbacks": list(self._callbacks),
                    "busyRejections": self._busy_rejections,
                    "requests": len(self._records),
                    "currentTime": zulu_timestamp(self.now()),
                },
                "devices": [snapshot_json(d) for d in self._devices.values()],
            }
