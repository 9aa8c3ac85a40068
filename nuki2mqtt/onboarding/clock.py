"""Clock differences between this machine and a bridge.

Hashed and encrypted tokens carry a timestamp the bridge accepts only within 60 s of
its own clock, so a skewed clock looks exactly like a wrong token (401). These
helpers turn what a bridge reveals about its clock into one signed number.
"""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

#: Above this many seconds the checks warn; tokens still work.
SKEW_WARN = 30.0
#: Beyond this many seconds the bridge refuses hashed and encrypted tokens.
SKEW_LIMIT = 60.0
#: Both the bridge's currentTime and an HTTP Date header count whole seconds (truncated).
_HALF_SECOND = 0.5


def parse_bridge_time(text: str | None) -> float | None:
    """``/info``'s ``currentTime`` (``2018-04-01T12:10:11Z``) as epoch seconds; None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_http_date(text: str | None) -> float | None:
    """An HTTP ``Date`` header as epoch seconds; None if absent or unreadable."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def skew(bridge_seconds: float, sent_at: float, answered_at: float) -> float:
    """The bridge's clock minus ours, seconds: positive when the bridge is ahead.

    The bridge read its clock somewhere between sending and answering; the middle is
    the best guess, and a truncated whole second is on average half a second late.
    """
    return bridge_seconds + _HALF_SECOND - (sent_at + answered_at) / 2.0


def format_skew(seconds: float) -> str:
    """``+45 s``, ``-3 min``, ``+2.0 h``: short enough for a table cell."""
    rounded = round(seconds)
    size = abs(rounded)
    sign = "-" if rounded < 0 else "+"
    if size < 120:
        return f"{sign}{size} s"
    if size < 3600:
        return f"{sign}{round(size / 60)} min"
    if size < 2 * 86400:
        return f"{sign}{size / 3600:.1f} h"
    return f"{sign}{round(size / 86400)} days"


def skew_level(seconds: float) -> str:
    """``ok``, ``warn`` (over 30 s) or ``fail`` (over 60 s, where hashed/encrypted tokens stop working)."""
    size = abs(seconds)
    if size > SKEW_LIMIT:
        return "fail"
    if size > SKEW_WARN:
        return "warn"
    return "ok"


CLOCK_FIX = (
    "sync this machine's clock (e.g. timedatectl set-ntp true, or the NTP setting of your NAS/router; "
    "in Docker the container uses the host's clock); the bridge takes its time from the Nuki servers, "
    "so it needs internet access"
)
