"""Client side of the Nuki Bridge HTTP API: token modes, the client, discovery."""
from __future__ import annotations

from nuki2mqtt.bridge.auth import encrypted_token, hashed_token, redact_url, token_params
from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.bridge.discovery import discover_bridges

__all__ = [
    "BridgeClient",
    "discover_bridges",
    "encrypted_token",
    "hashed_token",
    "redact_url",
    "token_params",
]
