"""One thread per bridge that owns every HTTP request to it.

A bridge answers 503 to a second concurrent request, so nothing else in the gateway
talks to a bridge: commands, polls, callback registration and requests are queued
here and sent one at a time. Commands go first (in arrival order), then requests,
then the coalesced poll; a command is never sent after its deadline, and an action
that opens a door is never sent twice.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from nuki2mqtt.bridge.errors import BridgeBusyError, BridgeError
from nuki2mqtt.bridge.models import BridgeInfo, DeviceEntry
from nuki2mqtt.commands import ParsedCommand
from nuki2mqtt.registration import Registration, ensure_callback, remove_callback

_LOGGER = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_BACKOFF = 0.25  # seconds before the 2nd attempt, doubled for the 3rd
PROBE_DELAY = 1.0  # a failed request is confirmed by a retry this much later
MAX_PROBE_INTERVAL = 60.0
REGISTER_RETRY = 300.0  # while polling instead of callbacks, try again for a callback slot this often
FALLBACK_POLL_INTERVAL = 60.0  # when callbacks cannot be registered and no poll interval is set


@dataclass
class CommandResult:
    status: str  # ok | error | expired
    error: str | None
    attempts: int


@dataclass
class Command:
    """A command queued for a bridge; ``done`` is called exactly once, from the worker thread."""

    nuki_id: int
    device_type: int
    label: str  # the device's name, for logs
    parsed: ParsedCommand
    received_at: float
    deadline: float
    done: Callable[[CommandResult], None]


@dataclass
class Job:
    """A request (bridge_info, bridge_log, ...) run once on the worker thread, never retried."""

    run: Callable[[Any], Any]  # gets the BridgeClient
    done: Callable[[Any, BaseException | None], None]
    name: str = "job"
    deadline: float | None = None  # not started after this: answered with an error, never sent


class WorkerListener(Protocol):
    """What the worker reports; implementations must not block (they hand work on)."""

    def on_info(self, worker: "BridgeWorker", info: BridgeInfo) -> None: ...
    def on_list(self, worker: "BridgeWorker", entries: list[DeviceEntry], source: str,
                read_at: float | None = None) -> None: ...
    def on_reachable(self, worker: "BridgeWorker", reachable: bool) -> None: ...
    def callback_url(self, worker: "BridgeWorker", info: BridgeInfo) -> str | None: ...
    def on_setup(self, worker: "BridgeWorker") -> None: ...


@dataclass
class _Timers:
    next_poll: float | None = None
    next_probe: float | None = None
    probe_backoff: float = PROBE_DELAY
    next_setup: float | None = None
    setup_backoff: float = PROBE_DELAY
    next_register: float | None = None


class BridgeWorker(threading.Thread):
    """Serializes everything sent to one bridge; see the module docstring."""

    def __init__(
        self,
        name: str,
        client: Any,
        listener: WorkerListener,
        *,
        poll_interval: float,
        callbacks: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=f"bridge-{name}", daemon=True)
        self.label = name
        self.client = client
        self._listener = listener
        self._poll_interval = poll_interval
        self._want_callbacks = callbacks
        self._clock = clock
        self._cond = threading.Condition()
        self._commands: deque[Command] = deque()
        self._jobs: deque[Job] = deque()
        self._poll_requested = False
        self._stopping = False
        self._timers = _Timers()
        self.reachable: bool | None = None
        self.info: BridgeInfo | None = None
        self.callback_registered: str | None = None  # our URL while registered
        self._needs_setup = True
        self.last_seen: float | None = None  # time.time() of the last answer
        self.ready = threading.Event()  # set once /info, /list and the callback registration have run

    # ------------------------------------------------------------ producers (any thread)
    def submit_command(self, command: Command) -> None:
        with self._cond:
            if self._stopping:
                command.done(CommandResult("expired", "the gateway is stopping; the command was not sent", 0))
                return
            self._commands.append(command)
            self._cond.notify()

    def submit_job(self, job: Job) -> None:
        with self._cond:
            if self._stopping:
                job.done(None, RuntimeError("the gateway is stopping"))
                return
            self._jobs.append(job)
            self._cond.notify()

    def request_poll(self) -> None:
        """Asks for a /list read; requests made before it runs coalesce into one."""
        with self._cond:
            self._poll_requested = True
            self._cond.notify()

    def request_setup(self) -> None:
        """Reads /info and /list again and re-checks the callback registration."""
        with self._cond:
            self._needs_setup = True
            self._cond.notify()

    def stop(self, timeout: float | None = None) -> bool:
        """No new work; queued commands expire now, the one in flight finishes; our callback is removed.

        Waits for an action in flight as long as the client would (a lock's motor), then for the
        callback removal; True once the thread has ended.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._drain()
        if timeout is None:
            timeout = float(getattr(self.client, "action_timeout", 40.0)) + 15.0
        self.join(timeout)
        return not self.is_alive()

    @property
    def queued_commands(self) -> int:
        """Commands waiting behind the request in flight."""
        with self._cond:
            return len(self._commands)

    @property
    def effective_poll_interval(self) -> float:
        if self._poll_interval > 0:
            return self._poll_interval
        if self._want_callbacks and not self.callback_registered and self.info is not None:
            return FALLBACK_POLL_INTERVAL
        return 0.0

    # ------------------------------------------------------------ the thread
    def run(self) -> None:
        try:
            while True:
                task = self._next_task()
                if task is None:
                    break
                try:
                    task()
                except Exception:  # noqa: BLE001 - one bad task must not end the bridge's worker
                    _LOGGER.exception("bridge %s: unexpected error", self.label)
        finally:
            self._drain()
            self._teardown()

    def _next_task(self) -> Callable[[], None] | None:
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._commands:
                    command = self._commands.popleft()
                    return lambda: self._execute(command)
                if self._jobs:
                    job = self._jobs.popleft()
                    return lambda: self._run_job(job)
                now = self._clock()
                probe_due = self._timers.next_probe is not None and now >= self._timers.next_probe
                if self.reachable is False or self._timers.next_probe is not None:
                    if probe_due:
                        self._timers.next_probe = None
                        return self._probe
                elif self._needs_setup:
                    if self._timers.next_setup is None or now >= self._timers.next_setup:
                        return self._setup
                elif self._poll_requested or (
                    self._timers.next_poll is not None and now >= self._timers.next_poll
                ):
                    self._poll_requested = False
                    return self._poll
                self._cond.wait(self._wait_time(now))

    def _wait_time(self, now: float) -> float | None:
        timers = self._timers
        deadlines = [t for t in (timers.next_poll, timers.next_probe, timers.next_setup) if t is not None]
        return max(0.0, min(deadlines) - now) if deadlines else None

    # ------------------------------------------------------------ tasks
    def _setup(self) -> None:
        """/info, /list and the callback registration: at start and after the bridge is back."""
        try:
            info = self.client.info()
            self._seen()
            self.info = info
            self._listener.on_info(self, info)
            self._read_list()
            if self._want_callbacks:
                self._register(info)
            self._needs_setup = False
            self.ready.set()
            self._listener.on_setup(self)
            self._timers.next_setup = None
            self._timers.setup_backoff = PROBE_DELAY
            self._schedule_poll()
        except BridgeError as exc:
            self._failed(exc, "setup")
            # A bridge that answers but refuses (401, 503) is asked again later, not in a tight loop.
            self._timers.next_setup = self._clock() + self._timers.setup_backoff
            self._timers.setup_backoff = min(self._timers.setup_backoff * 2, MAX_PROBE_INTERVAL)

    def _register(self, info: BridgeInfo) -> None:
        url = self._listener.callback_url(self, info)
        if not url:
            return
        registration: Registration = ensure_callback(self.client, url)
        self._seen()
        if registration.registered:
            self.callback_registered = url
            _LOGGER.info("bridge %s: callback %s %s", self.label, url,
                         "registered" if registration.added else "already registered")
        else:
            self.callback_registered = None
            self._timers.next_register = self._clock() + REGISTER_RETRY
            _LOGGER.error("bridge %s: cannot register the callback: %s", self.label, registration.error)

    def _read_list(self) -> None:
        """One /list read, reported with the time it began (a callback after that time is newer)."""
        read_at = self._clock()
        entries = self.client.list()
        self._seen()
        self._listener.on_list(self, entries, "poll", read_at)

    def _poll(self) -> None:
        try:
            self._read_list()
        except BridgeError as exc:
            self._failed(exc, "/list")
            # A busy bridge is asked again shortly; an unreachable one is handled by the probe.
            self._timers.next_poll = self._clock() + PROBE_DELAY
            return
        self._schedule_poll()
        if self._register_due():
            assert self.info is not None
            try:
                self._register(self.info)  # a slot may have been freed by another application
            except BridgeError as exc:
                self._failed(exc, "callback registration")
            if self.callback_registered:
                self._listener.on_setup(self)

    def _register_due(self) -> bool:
        due = self._timers.next_register
        return (self._want_callbacks and not self.callback_registered and self.info is not None
                and due is not None and self._clock() >= due)

    def _probe(self) -> None:
        """Confirms a failure, or finds the bridge back (then refreshes everything)."""
        was_unreachable = self.reachable is False
        try:
            self._read_list()
        except BridgeBusyError:
            self._seen()  # it answered: reachable, just busy
            self._timers.next_probe = self._clock() + PROBE_DELAY
            return
        except BridgeError as exc:
            self._set_reachable(False)
            limit = min(self.effective_poll_interval or MAX_PROBE_INTERVAL, MAX_PROBE_INTERVAL)
            self._timers.probe_backoff = min(self._timers.probe_backoff * 2, max(limit, PROBE_DELAY))
            self._timers.next_probe = self._clock() + self._timers.probe_backoff
            _LOGGER.debug("bridge %s: still unreachable (%s); next try in %.0f s",
                          self.label, exc, self._timers.probe_backoff)
            return
        if was_unreachable or self.info is None:
            self._needs_setup = True
        self._schedule_poll()

    def _run_job(self, job: Job) -> None:
        if job.deadline is not None and self._clock() > job.deadline:
            job.done(None, TimeoutError("the bridge was busy or unreachable for longer than commands.ttl; not sent"))
            return
        try:
            result = job.run(self.client)
        except BridgeError as exc:
            self._failed(exc, job.name)
            job.done(None, exc)
            return
        except Exception as exc:  # noqa: BLE001 - reported to the requester
            job.done(None, exc)
            return
        self._seen()
        job.done(result, None)

    def _execute(self, command: Command) -> None:
        attempts = 0
        last_error: BridgeError | None = None
        while True:
            now = self._clock()
            if now > command.deadline:
                if attempts == 0:
                    command.done(CommandResult("expired", "waited longer than its time-to-live; not sent", 0))
                else:
                    command.done(CommandResult("error", f"{last_error}; time-to-live ran out before another attempt", attempts))
                return
            attempts += 1
            try:
                result = self.client.lock_action(command.nuki_id, command.device_type, command.parsed.code)
            except BridgeError as exc:
                last_error = exc
                self._failed(exc, "/lockAction")
                if not exc.retryable:
                    command.done(CommandResult("error", str(exc), attempts))
                    return
                if command.parsed.opens_door:
                    command.done(CommandResult(
                        "error", f"{exc}; not retried because {command.parsed.action} opens the door", attempts))
                    return
                delay = RETRY_BACKOFF * (2 ** (attempts - 1))
                if attempts >= MAX_ATTEMPTS or self._clock() + delay > command.deadline:
                    command.done(CommandResult("error", f"{exc} (after {attempts} attempts)", attempts))
                    return
                _LOGGER.info("%s: %s failed (%s), retrying in %.2f s", command.label, command.parsed.action,
                             exc.summary, delay)
                if self._sleep(delay):
                    command.done(CommandResult("error", f"{exc}; the gateway is stopping", attempts))
                    return
                continue
            self._seen()
            if result.success:
                command.done(CommandResult("ok", None, attempts))
            else:
                command.done(CommandResult("error", "the bridge reported that the action failed", attempts))
            if not self.callback_registered:
                self.request_poll()  # without callbacks, the new state comes from /list
            return

    # ------------------------------------------------------------ reachability
    def _seen(self) -> None:
        self.last_seen = time.time()
        self._set_reachable(True)

    def _set_reachable(self, reachable: bool) -> None:
        if reachable:
            self._timers.probe_backoff = PROBE_DELAY
            self._timers.next_probe = None
        if self.reachable != reachable:
            self.reachable = reachable
            _LOGGER.log(logging.INFO if reachable else logging.WARNING,
                        "bridge %s is %s", self.label, "reachable" if reachable else "unreachable")
            self._listener.on_reachable(self, reachable)

    def _failed(self, exc: BridgeError, what: str) -> None:
        """Logs a failure; connection-level ones are confirmed by a probe a second later."""
        if isinstance(exc, BridgeBusyError) or exc.status is not None:
            _LOGGER.warning("bridge %s: %s", self.label, exc)
            return
        _LOGGER.warning("bridge %s: %s failed: %s", self.label, what, exc.summary)
        if self._timers.next_probe is None:
            self._timers.next_probe = self._clock() + (PROBE_DELAY if self.reachable is not False else self._timers.probe_backoff)
        if self.reachable is None:
            self._needs_setup = True

    def _schedule_poll(self) -> None:
        interval = self.effective_poll_interval
        self._timers.next_poll = self._clock() + interval if interval > 0 else None

    def _sleep(self, seconds: float) -> bool:
        """Waits; True if the worker is stopping."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopping, timeout=seconds)

    # ------------------------------------------------------------ stop
    def _drain(self) -> None:
        with self._cond:
            commands, self._commands = list(self._commands), deque()
            jobs, self._jobs = list(self._jobs), deque()
        for command in commands:
            command.done(CommandResult("expired", "the gateway stopped before sending this command", 0))
        for job in jobs:
            job.done(None, RuntimeError("the gateway is stopping"))

    def _teardown(self) -> None:
        url = self.callback_registered
        if not url:
            return
        try:
            removed = remove_callback(self.client, url)
            _LOGGER.info("bridge %s: callback %s %s", self.label, url, "removed" if removed else "was already gone")
        except BridgeError as exc:
            _LOGGER.warning("bridge %s: could not remove our callback %s: %s", self.label, url, exc)
        self.callback_registered = None
