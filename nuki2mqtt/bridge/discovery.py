"""Bridge discovery through Nuki's discovery URL.

The URL lists the bridges that reached the Nuki servers from the caller's public
address in the last 30 days; entries are hints, not proof that a bridge is reachable.
"""
from __future__ import annotations

import logging
import time

import requests

from nuki2mqtt.bridge.client import new_session, parse_or_raise, transport_error
from nuki2mqtt.bridge.errors import BridgeResponseError
from nuki2mqtt.bridge.models import DiscoveredBridge
from nuki2mqtt.const import DEFAULT_DISCOVERY_URL

_LOGGER = logging.getLogger(__name__)


def discover_bridges(
    url: str = DEFAULT_DISCOVERY_URL, *, timeout: float = 10.0, session: requests.Session | None = None
) -> list[DiscoveredBridge]:
    """The bridges the discovery URL knows, as it lists them.

    A bridge with discovery disabled (/configAuth) is listed with ip 0.0.0.0 and port 0;
    it is returned too, the caller decides what to do with it. Failures raise the
    BridgeError subclasses the client uses, naming the discovery URL.
    """
    own = session is None
    http = new_session() if session is None else session
    started = time.monotonic()
    try:
        try:
            response = http.get(url, timeout=timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise transport_error(url, exc) from None
    finally:
        if own:
            http.close()
    _LOGGER.debug("GET %s -> %d in %.1f ms", url, response.status_code, (time.monotonic() - started) * 1000.0)
    if response.status_code != 200:
        raise BridgeResponseError(url, None, response.status_code)
    try:
        data = response.json()
    except ValueError:
        raise BridgeResponseError(url, "body is not JSON", response.status_code) from None
    if not isinstance(data, dict) or not isinstance(data.get("bridges", []), list):
        raise BridgeResponseError(url, "expected an object with a bridges array", response.status_code)
    error_code = data.get("errorCode", 0)
    if error_code:
        raise BridgeResponseError(url, f"errorCode {error_code}", response.status_code)
    return [parse_or_raise(url, DiscoveredBridge.from_json, item) for item in data.get("bridges") or []]
