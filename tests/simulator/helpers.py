"""Test-side token signing and a tiny callback receiver.

Deliberately independent of nuki2mqtt.bridge (the client) and of the simulator's own
verification code: both sides are checked against NOTES.md, not against each other.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import nacl.secret
import requests

TOKEN = "abc123def456"
FRONT = 0x1A2B3C4D  # smartlock3, door sensor, keypad
BACK = 0x2B3C4D5E  # smartlock 2.0
OPENER = 0x3C4D5E6F


def utc_ts(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(token: str = TOKEN) -> dict[str, str]:
    return {"token": token}


def hashed(token: str = TOKEN, ts: str | None = None, rnr: int | None = None) -> dict[str, str]:
    ts = ts or utc_ts()
    rnr = secrets.randbelow(65536) if rnr is None else rnr
    digest = hashlib.sha256(f"{ts},{rnr},{token}".encode()).hexdigest()
    return {"ts": ts, "rnr": str(rnr), "hash": digest}


def encrypted(
    token: str = TOKEN, ts: str | None = None, rnr: int | None = None, nonce: bytes | None = None
) -> dict[str, str]:
    ts = ts or utc_ts()
    rnr = secrets.randbelow(65536) if rnr is None else rnr
    nonce = nonce or secrets.token_bytes(24)
    box = nacl.secret.SecretBox(hashlib.sha256(token.encode()).digest())
    ciphertext = box.encrypt(f"{ts},{rnr}".encode(), nonce).ciphertext
    return {"ctoken": ciphertext.hex(), "nonce": nonce.hex()}


def call(base: str, path: str, /, auth: dict[str, str] | None = None, **params: Any) -> requests.Response:
    """GET a bridge endpoint with a plain token unless ``auth`` says otherwise."""
    query = dict(plain() if auth is None else auth)
    query.update({k: str(v) for k, v in params.items()})
    return requests.get(base + path, params=query, timeout=10)


class CallbackCollector:
    """A real HTTP server that records every POSTed callback: (json body, client ip)."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[tuple[dict[str, Any], str, str]] = []
        self._cond = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                with collector._cond:
                    collector.received.append((body, self.client_address[0], self.path))
                    collector._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cb"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self._cond:
            return [body for body, _, _ in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return [body for body, _, _ in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
