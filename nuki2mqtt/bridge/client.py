"""Blocking client for the Nuki Bridge HTTP API, one method per endpoint.

One keep-alive connection pool per client keeps the latency of a command to the
bridge's own time. It is urllib3's pool used directly (requests' own transport):
requests' per-call machinery (environment proxy lookup, hooks, cookie jar) costs
about as much as the bridge takes to answer /list, for nothing a LAN bridge needs. The client never retries: a repeated unlatch opens the door twice, so whether to
try again is the caller's decision (``BridgeError.retryable`` helps). Messages name the
endpoint path only; the query, which carries the token, is logged redacted and never
put into an exception.
"""
from __future__ import annotations

import builtins
import errno
import http.client
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, TypeVar

import json
from urllib.parse import urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from nuki2mqtt.bridge.auth import REDACTED, format_ts, random_rnr, redact_url, token_params
from nuki2mqtt.bridge.errors import (
    ERROR_BY_STATUS,
    BadRequestError,
    BridgeConnectionError,
    BridgeError,
    BridgeResponseError,
    BridgeTimeoutError,
)
from nuki2mqtt.bridge.models import (
    ActionResult,
    AuthResult,
    BridgeInfo,
    Callback,
    DeviceEntry,
    LockStateResult,
)
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, TokenMode

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
_MAX_DETAIL = 200
_RNR_VALUES = 1 << 16

#: Bridge endpoints (paths as the firmware spells them).
AUTH = "/auth"
CONFIG_AUTH = "/configAuth"
LIST = "/list"
LOCK_STATE = "/lockState"
LOCK_ACTION = "/lockAction"
LOCK = "/lock"
UNLOCK = "/unlock"
UNPAIR = "/unpair"
INFO = "/info"
CALLBACK_ADD = "/callback/add"
CALLBACK_LIST = "/callback/list"
CALLBACK_REMOVE = "/callback/remove"
LOG = "/log"
CLEAR_LOG = "/clearlog"
FWUPDATE = "/fwupdate"
REBOOT = "/reboot"
FACTORY_RESET = "/factoryReset"


#: urllib3 loggers that put request URLs (and so the token) into their DEBUG/WARNING lines.
URLLIB3_LOGGERS: tuple[str, ...] = (
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.util.retry",
)


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through :func:`redact_url` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    """Make urllib3's own log lines token-free (it logs every URL at DEBUG). Idempotent."""
    for name in URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def new_session() -> requests.Session:
    """A requests session that never retries, for HTTPS calls (discovery, probes) outside the hot path."""
    install_log_redaction()
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def new_pool(host: str, port: int) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool that never retries or redirects (the caller decides about retries)."""
    install_log_redaction()
    return urllib3.HTTPConnectionPool(host, port, maxsize=1, block=False, retries=False)


class _Response:
    """The parts of an answer the client reads; decoupled from the transport for the parsers."""

    def __init__(self, status: int, data: bytes) -> None:
        self.status_code = status
        self.content = data

    def json(self) -> Any:
        return json.loads(self.content)


def os_error_text(exc: BaseException) -> str | None:
    """The operating system's words for the socket error under a transport exception, if any.

    Walks the cause chain instead of using ``str(exc)``: urllib3 puts the URL, query
    and token included, into its own messages.
    """
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None and current.errno in errno.errorcode:
            return current.strerror or errno.errorcode[current.errno]
        if isinstance(current, http.client.RemoteDisconnected):
            return "closed the connection without an answer"
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])
    return None


def transport_error(endpoint: str, exc: BaseException) -> BridgeError:
    """Map a transport exception to a BridgeError whose text carries no URL.

    A connect timeout means nothing reached the bridge (unroutable host), so it is a
    connection error; a read timeout means the request may have been carried out.
    Takes urllib3's exceptions (the bridge client) and requests' (discovery, probes).
    """
    if isinstance(exc, requests.ConnectTimeout):
        return BridgeConnectionError(endpoint, "connect timed out")
    if isinstance(exc, requests.Timeout):
        return BridgeTimeoutError(endpoint, "no answer in time")
    if isinstance(exc, requests.ConnectionError):
        return BridgeConnectionError(endpoint, os_error_text(exc) or "connection failed")
    if isinstance(exc, requests.RequestException):
        return BridgeResponseError(endpoint, type(exc).__name__)
    if isinstance(exc, NewConnectionError):  # before ConnectTimeoutError: urllib3 2 derives it from that
        return BridgeConnectionError(endpoint, os_error_text(exc) or "connection failed")
    if isinstance(exc, ConnectTimeoutError):
        return BridgeConnectionError(endpoint, "connect timed out")
    if isinstance(exc, (ReadTimeoutError, TimeoutError)):
        return BridgeTimeoutError(endpoint, "no answer in time")
    if isinstance(exc, (ProtocolError, OSError, http.client.HTTPException)):
        return BridgeConnectionError(endpoint, os_error_text(exc) or "connection failed")
    return BridgeResponseError(endpoint, type(exc).__name__)


def scrub(text: str, secret: str | None) -> str:
    """Bridge-supplied text, shortened and with the token blanked out, fit for a message."""
    if secret:
        text = text.replace(secret, REDACTED)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def parse_or_raise(endpoint: str, parse: Callable[[Any], _T], data: Any) -> _T:
    """Parse JSON into a model; a body of the wrong shape is a BridgeResponseError."""
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BridgeResponseError(endpoint, f"unexpected JSON: {type(exc).__name__}", 200) from None


class BridgeClient:
    """The Bridge API of one bridge. Thread-safe as far as urllib3's pool is; the
    bridge itself serves one request at a time, so callers should serialize anyway."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_BRIDGE_PORT,
        token: str | None = None,
        token_mode: TokenMode = TokenMode.ENCRYPTED,
        *,
        timeout: float = 5.0,
        action_timeout: float = 40.0,
        pool: urllib3.HTTPConnectionPool | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self._token = token
        self.token_mode = TokenMode(token_mode)
        self.timeout = timeout
        self.action_timeout = action_timeout
        install_log_redaction()
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else new_pool(host.strip("[]"), self.port)
        self._rnr_lock = threading.Lock()
        self._rnr_ts = ""
        self._rnr_used: set[int] = set()

    def __repr__(self) -> str:
        return f"BridgeClient(host={self.host!r}, port={self.port}, token_mode={self.token_mode.value!r})"

    def __enter__(self) -> "BridgeClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{host}:{self.port}"

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def close(self) -> None:
        """Close the connections; an injected pool belongs to its owner and stays open."""
        if self._owns_pool:
            self._pool.close()

    # -- transport ---------------------------------------------------------------

    def _token_query(self) -> dict[str, str]:
        """Fresh token parameters; never the same (ts, rnr) twice from this client.

        The bridge refuses a repeated hashed/encrypted token with 401, and random numbers
        alone repeat within one second once in a while under load.
        """
        assert self._token is not None
        if self.token_mode is TokenMode.PLAIN:
            return token_params(self._token, self.token_mode)
        now = _utcnow()
        ts = format_ts(now)
        with self._rnr_lock:
            if ts != self._rnr_ts or len(self._rnr_used) >= _RNR_VALUES:
                self._rnr_ts, self._rnr_used = ts, set()
            rnr = random_rnr()
            while rnr in self._rnr_used:
                rnr = random_rnr()
            self._rnr_used.add(rnr)
        return token_params(self._token, self.token_mode, now=now, rnr=rnr)

    def _get(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        authenticate: bool = True,
    ) -> _Response:
        """One GET with fresh token parameters; returns only a 2xx answer."""
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        if authenticate and self._token:
            query.update(self._token_query())
        read_timeout = self.timeout if timeout is None else timeout
        url = f"{endpoint}?{urlencode(query)}" if query else endpoint
        debug = _LOGGER.isEnabledFor(logging.DEBUG)
        started = time.monotonic()
        try:
            raw = self._pool.request(
                "GET", url,
                timeout=urllib3.Timeout(connect=min(self.timeout, read_timeout), read=read_timeout),
                retries=False, redirect=False, preload_content=True,
            )
        except (HTTPError, OSError, http.client.HTTPException) as exc:
            error = transport_error(endpoint, exc)
            if debug:
                _LOGGER.debug("GET %s failed after %.1f ms: %s", redact_url(self.base_url + url), _ms_since(started), error)
            raise error from None
        response = _Response(raw.status, raw.data)
        if debug:
            _LOGGER.debug("GET %s -> %d in %.1f ms", redact_url(self.base_url + url), response.status_code, _ms_since(started))
        if 200 <= response.status_code < 300:
            return response
        raise self._status_error(endpoint, response)

    def _status_error(self, endpoint: str, response: _Response) -> BridgeError:
        detail = self._bridge_message(response)
        error_class = ERROR_BY_STATUS.get(response.status_code)
        if error_class is not None:
            return error_class(endpoint, detail)
        return BridgeResponseError(endpoint, detail, response.status_code)

    def _bridge_message(self, response: _Response) -> str | None:
        """The ``message`` of a JSON error body, if the bridge sent one."""
        try:
            data = response.json()
        except ValueError:
            return None
        message = data.get("message") if isinstance(data, dict) else None
        return scrub(str(message), self._token) if message else None

    def _json(self, endpoint: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        response = self._get(endpoint, params, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise BridgeResponseError(endpoint, "body is not JSON", response.status_code) from None

    def _json_object(self, endpoint: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        data = self._json(endpoint, params, **kwargs)
        if not isinstance(data, dict):
            raise BridgeResponseError(endpoint, "expected a JSON object", 200)
        return data

    def _json_array(self, endpoint: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        data = self._json(endpoint, params, **kwargs)
        if not isinstance(data, list):
            raise BridgeResponseError(endpoint, "expected a JSON array", 200)
        return data

    def _checked_success(self, endpoint: str, params: Mapping[str, Any]) -> None:
        """For endpoints that answer ``{success, message}``: a refusal becomes BadRequestError."""
        data = self._json_object(endpoint, params)
        if not data.get("success", False):
            message = data.get("message")
            raise BadRequestError(endpoint, scrub(str(message), self._token) if message else "success is false")

    # -- endpoints ---------------------------------------------------------------

    def auth(self, timeout: float = 35.0) -> AuthResult:
        """Ask for the token; the bridge answers once its button is pressed or 30 s have passed."""
        data = self._json_object(AUTH, timeout=timeout, authenticate=False)
        return parse_or_raise(AUTH, AuthResult.from_json, data)

    def config_auth(self, enable: bool) -> bool:
        data = self._json_object(CONFIG_AUTH, {"enable": int(bool(enable))})
        return bool(data.get("success", False))

    def list(self) -> list[DeviceEntry]:
        """The paired devices with their cached state; cheap, the one to poll."""
        data = self._json_array(LIST)
        return [parse_or_raise(LIST, DeviceEntry.from_json, item) for item in data]

    def lock_state(self, nuki_id: int, device_type: int) -> LockStateResult:
        """A fresh state over Bluetooth: drains batteries, never poll it."""
        data = self._json_object(LOCK_STATE, _device(nuki_id, device_type))
        return parse_or_raise(LOCK_STATE, LockStateResult.from_json, data)

    def lock_action(
        self, nuki_id: int, device_type: int, action: int, *, nowait: bool = False, timeout: float | None = None
    ) -> ActionResult:
        """Run ``action``; without ``nowait`` the answer is the real outcome, so it may take long."""
        params = {**_device(nuki_id, device_type), "action": int(action)}
        if nowait:
            params["nowait"] = 1
        if timeout is None:
            timeout = self.timeout if nowait else self.action_timeout
        data = self._json_object(LOCK_ACTION, params, timeout=timeout)
        return parse_or_raise(LOCK_ACTION, ActionResult.from_json, data)

    def lock(self, nuki_id: int, device_type: int) -> ActionResult:
        data = self._json_object(LOCK, _device(nuki_id, device_type), timeout=self.action_timeout)
        return parse_or_raise(LOCK, ActionResult.from_json, data)

    def unlock(self, nuki_id: int, device_type: int) -> ActionResult:
        data = self._json_object(UNLOCK, _device(nuki_id, device_type), timeout=self.action_timeout)
        return parse_or_raise(UNLOCK, ActionResult.from_json, data)

    def unpair(self, nuki_id: int, device_type: int) -> bool:
        data = self._json_object(UNPAIR, _device(nuki_id, device_type))
        return bool(data.get("success", False))

    def info(self) -> BridgeInfo:
        data = self._json_object(INFO)
        return parse_or_raise(INFO, BridgeInfo.from_json, data)

    def callback_add(self, url: str) -> None:
        """Register ``url``; raises BadRequestError with the bridge's reason when it refuses."""
        self._checked_success(CALLBACK_ADD, {"url": url})

    def callback_list(self) -> builtins.list[Callback]:
        data = self._json_object(CALLBACK_LIST)
        items = data.get("callbacks") or []
        if not isinstance(items, list):
            raise BridgeResponseError(CALLBACK_LIST, "callbacks is not a JSON array", 200)
        return [parse_or_raise(CALLBACK_LIST, Callback.from_json, item) for item in items]

    def callback_remove(self, callback_id: int) -> None:
        """Remove by position: ids shift, so look the id up in a fresh callback_list first."""
        self._checked_success(CALLBACK_REMOVE, {"id": int(callback_id)})

    def log(self, offset: int = 0, count: int = 100) -> builtins.list[dict[str, Any]]:
        data = self._json_array(LOG, {"offset": int(offset), "count": int(count)})
        return [item for item in data if isinstance(item, dict)]

    def clear_log(self) -> None:
        self._get(CLEAR_LOG)

    def fwupdate(self, scope: int | None = None, nuki_id: int | None = None, device_type: int | None = None) -> None:
        self._get(FWUPDATE, {"scope": scope, "nukiId": nuki_id, "deviceType": device_type})

    def reboot(self) -> None:
        self._get(REBOOT)

    def factory_reset(self) -> None:
        self._get(FACTORY_RESET)


def _device(nuki_id: int, device_type: int) -> dict[str, int]:
    return {"nukiId": int(nuki_id), "deviceType": int(device_type)}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
