"""Probing one bridge: is it there, what is it, and how far is its clock from ours.

Without a token only little is observable: a bridge answers every request, so any
HTTP answer to ``GET /info`` (401 without a token) proves it is reachable, and the
answer's ``Date`` header, where the firmware sends one, gives a rough clock. With the
token, ``/info`` tells the bridge type, firmware and its exact ``currentTime``.
"""
from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from typing import Callable

from nuki2mqtt.bridge.client import INFO, BridgeClient
from nuki2mqtt.bridge.errors import (
    BridgeBusyError,
    BridgeConnectionError,
    BridgeError,
    BridgeTimeoutError,
    ForbiddenError,
    UnauthorizedError,
)
from nuki2mqtt.bridge.models import BridgeInfo
from nuki2mqtt.const import BridgeType, TokenMode
from nuki2mqtt.onboarding.clock import parse_bridge_time, parse_http_date, skew

#: The bridge serves one request at a time; a busy answer (503) is tried again this often.
BUSY_RETRIES = 2
BUSY_PAUSE = 0.3

SKEW_FROM_INFO = "info"
SKEW_FROM_DATE = "http-date"

Clock = Callable[[], float]


@dataclass(frozen=True)
class BridgeProbe:
    """What one probe found out. ``error`` is a readable reason and never holds the token."""

    host: str
    port: int
    reachable: bool
    error: str | None = None
    status: int | None = None
    token_mode: TokenMode | None = None  # the mode the token was tried in; None without a token
    token_accepted: bool | None = None  # None: no token tried, or the bridge refused for another reason
    info: BridgeInfo | None = None
    skew: float | None = None  # the bridge's clock minus ours, seconds
    skew_source: str | None = None  # SKEW_FROM_INFO or SKEW_FROM_DATE

    @property
    def address(self) -> str:
        return base_url(self.host, self.port).removeprefix("http://")

    @property
    def bridge_type(self) -> str | None:
        return BridgeType.label_of(self.info.bridge_type) if self.info else None

    @property
    def firmware(self) -> str | None:
        return self.info.firmware if self.info else None

    @property
    def forbidden(self) -> bool:
        return self.status == ForbiddenError.status


def probe_bridge(
    host: str,
    port: int,
    token: str | None = None,
    token_mode: TokenMode | str = TokenMode.ENCRYPTED,
    *,
    timeout: float = 5.0,
    clock: Clock = time.time,
) -> BridgeProbe:
    """Probe ``host:port``: with a token one authenticated ``/info``, else one anonymous request.

    A refused token is followed by one anonymous request for the ``Date`` header, which
    may tell a clock problem apart from a wrong token.
    """
    if not token:
        return _anonymous(host, port, timeout=timeout, clock=clock)
    mode = TokenMode(token_mode)
    with BridgeClient(host, port, token, mode, timeout=timeout) as client:
        try:
            info, sent, answered = _with_busy_retries(client.info, clock)
        except UnauthorizedError:
            rough = _anonymous(host, port, timeout=timeout, clock=clock)
            return BridgeProbe(
                host, port, True, error="the bridge refused the token (401)", status=UnauthorizedError.status,
                token_mode=mode, token_accepted=False, skew=rough.skew, skew_source=rough.skew_source,
            )
        except (BridgeConnectionError, BridgeTimeoutError) as exc:
            return BridgeProbe(host, port, False, error=connection_reason(host, exc), token_mode=mode)
        except BridgeError as exc:
            return BridgeProbe(host, port, True, error=str(exc), status=exc.status, token_mode=mode)
    bridge_time = parse_bridge_time(info.current_time)
    offset = skew(bridge_time, sent, answered) if bridge_time is not None else None
    return BridgeProbe(
        host, port, True, status=200, token_mode=mode, token_accepted=True, info=info,
        skew=offset, skew_source=SKEW_FROM_INFO if offset is not None else None,
    )


def _with_busy_retries(call: Callable[[], BridgeInfo], clock: Clock) -> tuple[BridgeInfo, float, float]:
    """``call()`` with its send and answer times; a 503 (bridge busy) is tried again a little later."""
    for attempt in range(BUSY_RETRIES + 1):
        sent = clock()
        try:
            return call(), sent, clock()
        except BridgeBusyError:
            if attempt == BUSY_RETRIES:
                raise
            time.sleep(BUSY_PAUSE)
    raise AssertionError("unreachable")  # pragma: no cover


def _anonymous(host: str, port: int, *, timeout: float, clock: Clock) -> BridgeProbe:
    """``GET /info`` without a token: every bridge answers it (401), which is all we need."""
    for attempt in range(BUSY_RETRIES + 1):
        sent = clock()
        try:
            status, date_header = _get_status(host, port, INFO, timeout)
        except _Unreachable as exc:
            return BridgeProbe(host, port, False, error=str(exc))
        answered = clock()
        if status != BridgeBusyError.status or attempt == BUSY_RETRIES:
            break
        time.sleep(BUSY_PAUSE)
    date = parse_http_date(date_header)
    offset = skew(date, sent, answered) if date is not None else None
    return BridgeProbe(
        host, port, True, status=status,
        error="the bridge's HTTP API is disabled (403)" if status == ForbiddenError.status else None,
        skew=offset, skew_source=SKEW_FROM_DATE if offset is not None else None,
    )


class _Unreachable(Exception):
    """Nothing answered; the message is the operating system's reason, without a URL."""


def _get_status(host: str, port: int, path: str, timeout: float) -> tuple[int, str | None]:
    """One plain GET: the status and the Date header. Raises _Unreachable."""
    connection = http.client.HTTPConnection(host.strip("[]"), port, timeout=timeout)
    try:
        try:
            connection.connect()
        except TimeoutError:
            raise _Unreachable("connect timed out") from None
        except socket.gaierror:
            raise _Unreachable(f"cannot resolve the host name {host}") from None
        except OSError as exc:
            raise _Unreachable(exc.strerror or type(exc).__name__) from None
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        except TimeoutError:
            raise _Unreachable("connected, but no answer in time") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "closed without an answer"
            raise _Unreachable(f"connected, but {reason}") from None
        return response.status, response.getheader("Date")
    finally:
        connection.close()


def base_url(host: str, port: int) -> str:
    """``http://host:port``, with brackets around an IPv6 address."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def connection_reason(host: str, exc: BridgeError) -> str:
    """``Connection refused``, ``connect timed out``, ...: the transport's words, no URL.

    The client has no words for a name that does not resolve, so that case is looked up here.
    """
    reason = exc.detail or exc.summary
    if isinstance(exc, BridgeConnectionError) and reason == "connection failed" and not _resolves(host):
        return f"cannot resolve the host name {host}"
    return reason


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return True
