"""The simulated bridge's HTTP listener: bytes in and out, every decision left to the simulator.

It knows the simulator only as two callables, so it has no view of the bridge's state.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from nuki2mqtt.http_server import HttpServer
from nuki2mqtt.simulator.reply import Reply

#: Answers a request: (method, path with query, perf_counter() at accept or None) -> Reply.
Answer = Callable[[str, str, float | None], Reply]

logger = logging.getLogger(__name__)

_REDACT_RE = re.compile(r"((?:token|ctoken|nonce|hash)=)[^&\s'\"]*", re.IGNORECASE)


def _redact(text: str) -> str:
    return _REDACT_RE.sub(r"\1***", text)


class Server(HttpServer):
    """Threads per request so a second concurrent request arrives and can be refused."""

    block_on_close = False  # a /auth waiting for the button must not hold up go_down()
    # allow_reuse_address (HttpServer): come_back() binds the same port right after go_down()
    request_queue_size = 16

    def __init__(self, address: tuple[str, int], answer: Answer, now: Callable[[], float]) -> None:
        """``answer`` decides every reply; ``now`` is the bridge's clock, for the Date header."""
        self.answer = answer
        self.now = now
        self.arrivals: dict[int, float] = {}  # id(connection) -> perf_counter() at accept
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # The moment a request reaches the bridge, before our thread and parsing cost anything:
        # service time is measured from here.
        self.arrivals[id(request)] = time.perf_counter()
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "NukiBridgeSimulator/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the simulated clock (clock_offset), as a skewed bridge's would.
        return super().date_time_string(self.server.now() if timestamp is None else timestamp)

    def setup(self) -> None:
        # One request per connection (HTTP/1.0, Connection: close): accept time is arrival time.
        self.arrived: float | None = self.server.arrivals.pop(id(self.request), None)
        super().setup()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            reply = self.server.answer(method, self.path, self.arrived)
        except Exception:  # noqa: BLE001 - never a traceback on the wire
            logger.debug("error serving %s", _redact(self.path), exc_info=True)
            reply = Reply(500)
        body, content_type = reply.payload()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            logger.debug("client went away before the answer to %s", urlsplit(self.path).path)
        if reply.after is not None:
            reply.after()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s", _redact(format % args))
