"""Getting a token from a bridge: ``/auth``, which waits up to 30 s for the bridge's button.

The request runs on a worker thread so the caller's countdown keeps moving; when the
bridge answers ``success: false`` (nobody pressed the button in its window) it is
asked again until the overall deadline. Each outcome is one readable sentence.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.bridge.errors import (
    BridgeBusyError,
    BridgeConnectionError,
    BridgeError,
    BridgeTimeoutError,
    ForbiddenError,
)
from nuki2mqtt.bridge.models import AuthResult
from nuki2mqtt.onboarding.countdown import Countdown
from nuki2mqtt.onboarding.probe import connection_reason

#: How long a bridge waits for its button after /auth (the document's 30 s).
AUTH_WINDOW = 30.0
#: Extra seconds allowed for the answer after the bridge's window closed.
ANSWER_GRACE = 5.0
#: How often the countdown is refreshed.
TICK = 0.2
BUSY_PAUSE = 1.0
#: Attempts start at least this far apart, whatever the bridge does.
MIN_SPACING = 0.5

ENABLE_API_HINT = (
    "turn on the bridge's HTTP API in the Nuki app (Manage my devices > your bridge > "
    "activate the HTTP API / Bridge API), then run this command again"
)


@dataclass(frozen=True)
class PairingOutcome:
    """``token`` on success; else ``reason``, one sentence for the user (never a token)."""

    token: str | None = field(default=None, repr=False)
    reason: str | None = None
    attempts: int = 0


def request_token(
    client: BridgeClient,
    timeout: float,
    countdown: Countdown,
    *,
    window: float = AUTH_WINDOW,
    monotonic: Callable[[], float] = time.monotonic,
) -> PairingOutcome:
    """Ask for the token until the button is pressed or ``timeout`` seconds have passed."""
    deadline = monotonic() + timeout
    where = f"{client.host}:{client.port}"
    attempts = 0
    started = monotonic()
    while True:
        if attempts:
            countdown.restart()
            time.sleep(max(0.0, min(MIN_SPACING - (monotonic() - started), deadline - monotonic())))
        started = monotonic()
        left = deadline - started
        if left <= 0:
            return PairingOutcome(reason=_gave_up(timeout), attempts=attempts)
        attempts += 1
        wait = min(window + ANSWER_GRACE, left + 1.0)
        call = _Call(lambda: client.auth(timeout=wait))  # noqa: B023 - runs at once, on this attempt's value
        countdown.show(min(window, left))
        while not call.done.wait(TICK):
            now = monotonic()
            if now >= deadline:
                countdown.end()
                return PairingOutcome(reason=_gave_up(timeout), attempts=attempts)
            countdown.show(min(window - (now - started), deadline - now))
        countdown.end()
        error = call.error
        if error is None:
            result = call.result
            assert result is not None
            if result.success and result.token:
                return PairingOutcome(token=result.token, attempts=attempts)
            countdown.say(_not_pressed(deadline - monotonic(), attempts))
            continue
        if isinstance(error, ForbiddenError):
            return PairingOutcome(reason=f"the bridge at {where} refused pairing (403): its HTTP API or "
                                  f"pairing by button is turned off; {ENABLE_API_HINT}", attempts=attempts)
        if isinstance(error, BridgeConnectionError):
            reason = connection_reason(client.host, error)
            return PairingOutcome(reason=f"cannot connect to the bridge at {where}: {reason}; "
                                  "check --host and --port (nuki2mqtt discover lists the bridges) and that "
                                  "the bridge's HTTP API is turned on in the Nuki app", attempts=attempts)
        if isinstance(error, BridgeBusyError):
            countdown.say("The bridge is busy with another request (503); asking again in a second.")
            time.sleep(BUSY_PAUSE)
            continue
        if isinstance(error, BridgeTimeoutError):
            countdown.say("The bridge did not answer in time; asking again.")
            continue
        if isinstance(error, BridgeError):
            return PairingOutcome(reason=f"the bridge at {where} answered /auth unexpectedly: {error}",
                                  attempts=attempts)
        return PairingOutcome(reason=f"pairing failed: {type(error).__name__}", attempts=attempts)


def _not_pressed(left: float, attempts: int) -> str:
    if left <= 0:
        return "The button was not pressed in time."
    return (f"The button was not pressed in time; asking again (attempt {attempts + 1}, "
            f"giving up in {math.ceil(left)} s).")


def _gave_up(timeout: float) -> str:
    return (f"no button press within {timeout:g} s, nothing was paired; run the command again and press "
            "the bridge's button while the countdown runs")


class _Call:
    """One blocking call on a daemon thread; an abandoned call cannot keep the process alive."""

    def __init__(self, target: Callable[[], AuthResult]) -> None:
        self.done = threading.Event()
        self.result: AuthResult | None = None
        self.error: BaseException | None = None
        self._target = target
        threading.Thread(target=self._run, name="nuki2mqtt-pair", daemon=True).start()

    def _run(self) -> None:
        try:
            self.result = self._target()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, never printed here
            self.error = exc
        finally:
            self.done.set()
