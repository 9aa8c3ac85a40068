"""The countdown line: rewritten in place on a terminal, sparse plain lines elsewhere."""
from __future__ import annotations

import io

from nuki2mqtt.onboarding.countdown import Countdown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_rewrites_one_line_once_per_second() -> None:
    out = Terminal()
    countdown = Countdown(out, "Waiting")
    assert countdown.tty
    for left in (30.0, 29.9, 29.5, 29.0, 28.1, 9.2):
        countdown.show(left)
    countdown.say("done")
    assert out.getvalue() == (
        "\rWaiting: 30 s left\rWaiting: 29 s left\rWaiting: 10 s left\ndone\n"
    )


def test_terminal_pads_a_shorter_text() -> None:
    out = Terminal()
    countdown = Countdown(out, "W")
    countdown.show(10)
    countdown.show(9)  # " 9" is as wide as "10": same width, nothing left over
    countdown.end()
    assert out.getvalue() == "\rW: 10 s left\rW:  9 s left\n"


def test_pipe_gets_a_line_every_ten_seconds_and_at_zero() -> None:
    out = io.StringIO()
    countdown = Countdown(out, "Waiting")
    assert not countdown.tty
    for tenth in range(300, -1, -1):
        countdown.show(tenth / 10)
    countdown.end()
    assert out.getvalue().splitlines() == [
        "Waiting: 30 s left", "Waiting: 20 s left", "Waiting: 10 s left", "Waiting: 0 s left"
    ]


def test_restart_shows_the_next_value_at_once() -> None:
    out = io.StringIO()
    countdown = Countdown(out, "W")
    countdown.show(30)
    countdown.show(28)
    countdown.restart()
    countdown.show(27)
    assert out.getvalue().splitlines() == ["W: 30 s left", "W: 27 s left"]
