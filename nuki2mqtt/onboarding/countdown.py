"""A visible countdown: one line rewritten in place on a terminal, a line now and then elsewhere.

Output to a pipe or a log file must stay readable, so without a terminal only every
``every`` seconds a plain line is written instead of carriage-return updates.
"""
from __future__ import annotations

import math
from typing import TextIO

#: Seconds between plain lines when the output is not a terminal.
PLAIN_EVERY = 10.0


class Countdown:
    """``show(left)`` as often as convenient; it writes only when the visible text changes."""

    def __init__(self, stream: TextIO, label: str, *, tty: bool | None = None, every: float = PLAIN_EVERY) -> None:
        self._stream = stream
        self._label = label
        self._tty = stream.isatty() if tty is None else tty
        self._every = every
        self._shown: int | None = None
        self._width = 0

    @property
    def tty(self) -> bool:
        return self._tty

    def show(self, left: float) -> None:
        seconds = max(0, math.ceil(left))
        if seconds == self._shown:
            return
        if self._tty:
            text = f"{self._label}: {seconds:>2} s left"
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self._stream.flush()
            self._shown = seconds
        elif self._shown is None or seconds <= self._shown - self._every or seconds == 0:
            self._stream.write(f"{self._label}: {seconds} s left\n")
            self._stream.flush()
            self._shown = seconds

    def say(self, line: str) -> None:
        """A line of its own; on a terminal the countdown line is finished first."""
        self.end()
        self._stream.write(line + "\n")
        self._stream.flush()

    def restart(self) -> None:
        """The next ``show`` writes again, as for a fresh countdown."""
        self.end()
        self._shown = None

    def end(self) -> None:
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0
