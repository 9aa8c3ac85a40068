"""Registering and removing our callback URL on a bridge without touching anyone else's.

The bridge keeps at most 3 callback URLs and numbers them by position, so an id read
earlier may point at another client's URL by now: we always look our URL up in a fresh
/callback/list right before removing it, and never remove a URL that is not exactly ours.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from nuki2mqtt.bridge.models import Callback
from nuki2mqtt.const import MAX_CALLBACK_URL_LENGTH, MAX_CALLBACKS

_LOGGER = logging.getLogger(__name__)


class CallbackApi(Protocol):
    def callback_list(self) -> list[Callback]: ...
    def callback_add(self, url: str) -> None: ...
    def callback_remove(self, callback_id: int) -> None: ...


@dataclass(frozen=True)
class Registration:
    """Outcome of :func:`ensure_callback`; ``error`` says why we fell back to polling."""

    registered: bool
    added: bool = False
    error: str | None = None


def ensure_callback(client: CallbackApi, url: str) -> Registration:
    """Keeps an existing identical registration, else adds ours if a slot is free."""
    if len(url) > MAX_CALLBACK_URL_LENGTH:
        return Registration(False, error=f"callback URL is longer than {MAX_CALLBACK_URL_LENGTH} characters: {url}")
    if not url.lower().startswith("http://"):
        return Registration(False, error=f"the bridge can only call plain http:// URLs, not {url}")
    existing = client.callback_list()
    if any(cb.url == url for cb in existing):
        return Registration(True)
    if len(existing) >= MAX_CALLBACKS:
        taken = ", ".join(cb.url for cb in existing)
        return Registration(
            False,
            error=(
                f"all {MAX_CALLBACKS} callback slots of the bridge are taken ({taken}); "
                "remove one in the other application (or with the bridge_callbacks request to see them) "
                "- falling back to polling /list"
            ),
        )
    client.callback_add(url)
    return Registration(True, added=True)


def remove_callback(client: CallbackApi, url: str) -> bool:
    """Removes our URL (found by exact URL in a fresh list); True if one was removed."""
    for cb in client.callback_list():
        if cb.url == url:
            client.callback_remove(cb.id)
            return True
    return False
