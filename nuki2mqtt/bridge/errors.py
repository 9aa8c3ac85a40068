"""One exception per documented Bridge API failure (the document's section 7).

Each message says what to do about it. No message ever contains the token: the client
builds them from the endpoint path only, never from the URL with its query.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping


class BridgeError(Exception):
    """Base class. ``retryable`` tells a caller whether the same request may be sent again."""

    status: int | None = None
    retryable: bool = False
    summary: str = "bridge request failed"
    hint: str = ""

    def __init__(self, endpoint: str, detail: str | None = None) -> None:
        self.endpoint = endpoint
        self.detail = detail
        text = f"{endpoint}: {self.summary}"
        if detail:
            text += f" ({detail})"
        if self.hint:
            text += f". {self.hint}"
        super().__init__(text)


class BadRequestError(BridgeError):
    status = 400
    summary = "400 Bad Request: wrong or missing parameter"
    hint = "Check the endpoint's parameters (action, device type, URL) against the Bridge API document"


class UnauthorizedError(BridgeError):
    status = 401
    summary = "401 Unauthorized: invalid token"
    hint = (
        "Check the token and token_mode; for hashed and encrypted tokens also check that this "
        "machine's clock is within 60 s of the bridge's"
    )


class ForbiddenError(BridgeError):
    status = 403
    summary = "403 Forbidden: authentication is disabled"
    hint = "Activate the Bridge API in the Nuki app (Manage my devices > Bridge) or enable /auth with /configAuth"


class NotFoundError(BridgeError):
    status = 404
    summary = "404 Not Found: unknown Nuki device"
    hint = "Check the device's Nuki ID and device type against the bridge's /list"


class BridgeBusyError(BridgeError):
    """503: another request is running on the bridge, or the device is offline."""

    status = 503
    retryable = True
    summary = "503 Service Unavailable: bridge busy or device offline"
    hint = "The bridge serves one request at a time: serialize requests and space them out"


class BridgeConnectionError(BridgeError):
    """Refused, reset or unroutable: nothing (or nothing complete) reached the bridge."""

    retryable = True
    summary = "cannot connect to the bridge"
    hint = "Check that the bridge is powered, on the network, and that host and port are right"


class BridgeTimeoutError(BridgeError):
    """No answer in time. The request may still have been carried out."""

    retryable = True
    summary = "timed out waiting for the bridge"
    hint = "The bridge or the device is slow or out of Bluetooth range; try again later"


class BridgeResponseError(BridgeError):
    """An HTTP status the document does not list, or a body that is not the expected JSON."""

    hint = "The bridge answered something unexpected; check its firmware version"

    def __init__(self, endpoint: str, detail: str | None = None, status: int | None = None) -> None:
        self.status = status
        self.summary = f"unexpected answer{f' (HTTP {status})' if status else ''}"
        super().__init__(endpoint, detail)


#: HTTP status -> exception class, for the client's error mapping.
ERROR_BY_STATUS: Mapping[int, type[BridgeError]] = MappingProxyType({
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    503: BridgeBusyError,
})
