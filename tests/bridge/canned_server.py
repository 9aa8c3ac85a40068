"""A tiny real HTTP/1.1 server that answers canned replies, for client-side tests.

It counts TCP connections (one handler instance per connection) and records every
request, so tests can check keep-alive and the absence of retries on the wire.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0
    hang: bool = False  # never answer (until the server stops)
    drop: bool = False  # close the connection without an answer


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    connection: int


@dataclass
class CannedServer:
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> "CannedServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def reply(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body meet delayed ACK: +40 ms a request

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1
                    self.connection_number = server.connections

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                with server._lock:
                    server.requests.append(Seen(parts.path, query, self.connection_number))
                reply = server.replies.get(parts.path, Reply())
                if reply.hang:
                    server._release.wait(30)
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        return Handler


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
