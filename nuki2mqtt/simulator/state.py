"""The simulated bridge's mutable state, in one object with one lock.

The API endpoints, the control endpoints, the callback sender and the simulator's
behaviour over time (actions, rings, reboots) all read and change the same devices,
callbacks and log. One re-entrant lock guards all of it, so that a state change and the
callback it queues happen in one step, and so every module takes that lock from here
instead of reaching into the simulator.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nuki2mqtt.simulator.devices import SimDevice, iso_timestamp

#: The bridge's log keeps this many entries, newest last.
MAX_LOG_ENTRIES = 1_000


@dataclass(eq=False)
class BridgeState:
    """What the bridge knows and remembers; hold ``lock`` to read or change any of it.

    ``now`` is the bridge's clock (the simulator's, skewed by its ``clock_offset``), for log timestamps.
    """

    now: Callable[[], float]
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Paired devices by nukiId, in pairing order (``/list`` and ``/info`` keep it).
    devices: dict[int, SimDevice] = field(default_factory=dict)
    #: Devices unpaired since the last factory reset: ``/info`` still lists them, as unpaired.
    unpaired: list[SimDevice] = field(default_factory=list)
    callbacks: list[str] = field(default_factory=list)
    auth_enabled: bool = True
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_LOG_ENTRIES))
    #: Actions still walking through their states: while any runs, device commands answer 503.
    actions_running: int = 0
    #: nukiIds whose next action jams.
    jammed: set[int] = field(default_factory=set)
    #: Requests refused with 503 because the bridge was busy.
    busy_rejections: int = 0
    #: ``time.monotonic()`` at the last (re)boot, for ``/info``'s uptime.
    booted_at: float = field(default_factory=time.monotonic)

    def device(self, nuki_id: int) -> SimDevice:
        """The paired device itself (not a copy); KeyError when none has this nukiId."""
        with self.lock:
            device = self.devices.get(int(nuki_id))
        if device is None:
            raise KeyError(f"no paired device with nukiId {nuki_id}")
        return device

    def log_event(self, kind: str, **fields: Any) -> None:
        """An entry in the bridge's log (``/log``), stamped with the bridge's clock."""
        with self.lock:
            self.log.append({"timestamp": iso_timestamp(self.now()), "type": kind, **fields})

    def uptime(self) -> float:
        """Seconds since the last (re)boot."""
        return time.monotonic() - self.booted_at

    def factory_reset(self) -> None:
        """Forget callbacks, paired and unpaired devices and the log; allow /auth again."""
        with self.lock:
            self.callbacks.clear()
            self.devices.clear()
            self.unpaired.clear()
            self.log.clear()
            self.auth_enabled = True
