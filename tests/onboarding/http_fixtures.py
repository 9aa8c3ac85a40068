"""Small real HTTP servers for the onboarding tests: a discovery URL and a fake bridge front."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator


class StaticServer:
    """Answers every GET with one status and body; its Date header runs ``date_offset`` seconds off."""

    def __init__(self, status: int = 200, body: Any = None, *, date_offset: float | None = 0.0,
                 content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.date_offset = date_offset
        self.content_type = content_type
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.paths.append(self.path)
                data = server.payload()
                self.send_response_only(server.status)
                if server.date_offset is not None:
                    self.send_header("Date", formatdate(time.time() + server.date_offset, usegmt=True))
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/discover/bridges"

    def start(self) -> StaticServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serving(*args: Any, **kwargs: Any) -> Iterator[StaticServer]:
    server = StaticServer(*args, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def discovery_body(*entries: tuple[int, str, int]) -> dict[str, Any]:
    return {
        "bridges": [
            {"bridgeId": bridge_id, "ip": ip, "port": port, "dateUpdated": "2024-05-01T10:00:00Z"}
            for bridge_id, ip, port in entries
        ],
        "errorCode": 0,
    }
