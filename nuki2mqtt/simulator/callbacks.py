"""Callbacks as the bridge sends them: one sender thread, in order, from the bridge's own address."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from queue import Queue
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from nuki2mqtt.simulator.bridge import BridgeSimulator

logger = logging.getLogger(__name__)


def source_address(host: str) -> tuple[str, int] | None:
    """The local address callbacks are sent from: the bridge's own (None when it listens on all)."""
    if host in ("", "0.0.0.0", "::"):
        return None
    try:
        return (str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0]), 0)
    except OSError:
        return None


class CallbackSender:
    """One thread POSTs every state change to every URL, in order; a failing URL is skipped."""

    def __init__(self, sim: BridgeSimulator) -> None:
        self._sim = sim
        self._source = source_address(sim.host)
        self._queue: Queue[dict[str, Any] | None] = Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nuki-sim-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=self._sim.callback_timeout + 1.0)

    def put(self, body: dict[str, Any]) -> None:
        self._queue.put(body)

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            for url in self._sim.callback_urls:
                self._post(url, body)

    def _post(self, url: str, body: dict[str, Any]) -> None:
        sim = self._sim
        parts = urlsplit(url)
        data = json.dumps(body).encode("utf-8")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hook = sim.on_callback_sent
        if hook is not None:
            try:
                hook(url, body, time.perf_counter())
            except Exception:  # noqa: BLE001 - a test hook must not stop delivery
                logger.debug("on_callback_sent raised", exc_info=True)
        try:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port or 80, timeout=sim.callback_timeout, source_address=self._source
            )
            try:
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                status = conn.getresponse().status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.info("callback to %s failed: %s", url, exc)
            sim.state.log_event("callback-failed", url=url)
            return
        if status >= 400:
            logger.info("callback to %s answered %s", url, status)
        sim.state.log_event("callback", url=url, nukiId=body.get("nukiId"), status=status)
