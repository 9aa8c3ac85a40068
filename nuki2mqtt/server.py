"""The gateway's HTTP listener: bridge callbacks, Web API webhooks and /health.

Callbacks are answered at once and handed on after the answer: a bridge waits for
each callback before sending the next (and before calling the other URLs), so a slow
answer here would delay every client of the bridge.
"""
from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Protocol

from nuki2mqtt.http_server import HttpServer
from nuki2mqtt.network import normalize_address

_LOGGER = logging.getLogger(__name__)

MAX_BODY = 16384
#: How long and how much a refused sender's unread body is read away before closing.
LINGER_SECONDS = 2.0
LINGER_BYTES = 256 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    after: Callable[[], None] | None = None  # work to do once the answer is sent


class ListenerApi(Protocol):
    """What the listener asks the gateway; every method must return quickly."""

    def callback_sender_allowed(self, client_ip: str) -> bool: ...
    def handle_callback(self, bridge_id: str, client_ip: str, body: bytes) -> Reply: ...
    def handle_webhook(self, headers: dict[str, str], body: bytes) -> Reply: ...
    def health(self) -> tuple[int, dict[str, Any]]: ...


class _Server(HttpServer):
    def __init__(self, address: tuple[str, int], api: ListenerApi) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            # "::" is every address, IPv4 included: bridges call back over IPv4.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bridge closing its connection after a callback is normal, not worth a traceback.
        _LOGGER.debug("connection from %s ended: %s", client_address[0], sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: never let the body wait for an ACK
    timeout = 10  # an idle or stalled connection gives its thread back

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        _LOGGER.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] != "/health":
            self._send(Reply(HTTPStatus.NOT_FOUND, {"error": "not found"}))
            return
        status, body = self.server.api.health()
        self._send(Reply(status, body))

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        client_ip = normalize_address(self.client_address[0])
        if path.startswith("/callback/") and not self.server.api.callback_sender_allowed(client_ip):
            # Anyone but a configured bridge hears nothing else: not even whether an id exists.
            self._refuse(Reply(HTTPStatus.FORBIDDEN, {"error": "callbacks are accepted only from a configured bridge"}))
            return
        body = self._read_body()
        if body is None:
            return
        api = self.server.api
        if path.startswith("/callback/") and path.count("/") == 2:
            reply = api.handle_callback(path[len("/callback/"):], client_ip, body)
        elif path == "/webhook/nuki-web":
            reply = api.handle_webhook({k.lower(): v for k, v in self.headers.items()}, body)
        else:
            reply = Reply(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {path}"})
        self._send(reply)
        if reply.after:
            try:
                reply.after()
            except Exception:  # noqa: BLE001 - the answer is out; log and keep serving
                _LOGGER.exception("error handling %s", path)

    def _read_body(self) -> bytes | None:
        # Where the body ends is unknown in these cases, so the connection cannot carry another request.
        if "Transfer-Encoding" in self.headers:
            self._refuse(Reply(HTTPStatus.LENGTH_REQUIRED, {"error": "send the body with a Content-Length"}))
            return None
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(Reply(HTTPStatus.BAD_REQUEST, {"error": "invalid Content-Length"}))
            return None
        if length > MAX_BODY:
            self._refuse(Reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body larger than {MAX_BODY} bytes"}))
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _refuse(self, reply: Reply) -> None:
        """Answers without reading the body, then closes the connection the graceful way.

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the answer before the sender reads it: so stop writing first, then read away what
        is still arriving (bounded in time and size) until the sender closes its side.
        """
        self.close_connection = True
        self._send(reply)
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            received = 0
            while received < LINGER_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.connection.settimeout(remaining)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass  # the sender is gone already: nothing left to protect


class HttpListener:
    """Runs the server on its own thread; ``port`` is known after start (0 picks a free one)."""

    def __init__(self, host: str, port: int, api: ListenerApi) -> None:
        self._server = _Server((host, port), api)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-listener", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
