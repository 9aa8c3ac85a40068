"""The HTTP listener on its own, with a recording stand-in for the gateway behind it."""
from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any, Callable, Iterator

import pytest
import requests

from nuki2mqtt.server import MAX_BODY, HttpListener, Reply


class RecordingApi:
    """A ListenerApi that records every call; answers are set by the test."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.allowed = True
        self.health_answer: tuple[int, dict[str, Any]] = (200, {"status": "ok"})
        self.after: Callable[[], None] | None = None
        self.asked: list[str] = []
        self.callbacks: list[tuple[str, str, bytes]] = []
        self.webhooks: list[tuple[dict[str, str], bytes]] = []

    def callback_sender_allowed(self, client_ip: str) -> bool:
        self.asked.append(client_ip)
        return self.allowed

    def handle_callback(self, bridge_id: str, client_ip: str, body: bytes) -> Reply:
        self.callbacks.append((bridge_id, client_ip, body))
        return Reply(200, {"success": True, "bridge": bridge_id}, self.after)

    def handle_webhook(self, headers: dict[str, str], body: bytes) -> Reply:
        self.webhooks.append((headers, body))
        return Reply(202, {"accepted": len(body)})

    def health(self) -> tuple[int, dict[str, Any]]:
        return self.health_answer


@pytest.fixture(scope="module")
def shared_api() -> RecordingApi:
    return RecordingApi()


@pytest.fixture(scope="module")
def listener(shared_api: RecordingApi) -> Iterator[HttpListener]:
    """One listener for the module: stopping one takes up to half a second (serve_forever's poll)."""
    server = HttpListener("127.0.0.1", 0, shared_api)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(shared_api: RecordingApi) -> RecordingApi:
    shared_api.reset()
    return shared_api


def url(listener: HttpListener, path: str) -> str:
    return f"http://127.0.0.1:{listener.port}{path}"


def read_until_closed(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def test_health_answers_with_the_apis_status_and_body(listener: HttpListener, api: RecordingApi) -> None:
    api.health_answer = (503, {"status": "down", "mqtt": "disconnected"})
    answer = requests.get(url(listener, "/health?verbose=1"), timeout=5)
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"status": "down", "mqtt": "disconnected"}


@pytest.mark.parametrize("path", ["/", "/healthz", "/callback/1", "/webhook/nuki-web"])
def test_other_get_paths_are_404(listener: HttpListener, api: RecordingApi, path: str) -> None:
    answer = requests.get(url(listener, path), timeout=5)
    assert answer.status_code == 404 and answer.json() == {"error": "not found"}
    assert api.asked == [] and api.callbacks == [] and api.webhooks == []


def test_a_callback_reaches_the_api_with_its_exact_body_and_the_senders_address(
        listener: HttpListener, api: RecordingApi) -> None:
    body = b'{"nukiId": 439234125,\r\n "state": 3}\x00'
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5,
                                            source_address=("127.0.0.2", 0))
    try:
        connection.request("POST", "/callback/4711?ignored=1", body=body)
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read()) == {"success": True, "bridge": "4711"}
    finally:
        connection.close()
    assert api.asked == ["127.0.0.2"]
    assert api.callbacks == [("4711", "127.0.0.2", body)]


def test_after_runs_once_the_answer_is_out(listener: HttpListener, api: RecordingApi) -> None:
    release, started, finished = threading.Event(), threading.Event(), threading.Event()

    def after() -> None:
        started.set()
        release.wait(10)
        finished.set()

    api.after = after
    try:
        # were `after` run before the answer, the client would wait for it and time out
        answer = requests.post(url(listener, "/callback/1"), data=b"{}", timeout=3)
        assert answer.status_code == 200
        assert started.wait(3) and not finished.is_set()
    finally:
        release.set()
    assert finished.wait(3)


def test_an_after_that_raises_leaves_the_connection_serving(listener: HttpListener, api: RecordingApi,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("after failed")

    api.after = broken
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
    try:
        connection.request("POST", "/callback/1", body=b"first")
        first = connection.getresponse()
        assert first.status == 200 and json.loads(first.read())["success"] is True
        sock = connection.sock
        assert sock is not None
        api.after = None
        connection.request("POST", "/callback/1", body=b"second")
        second = connection.getresponse()
        assert second.status == 200 and json.loads(second.read())["success"] is True
        assert connection.sock is sock  # answered on the same connection
    finally:
        connection.close()
    assert [body for _, _, body in api.callbacks] == [b"first", b"second"]
    assert "error handling /callback/1" in caplog.text and "after failed" in caplog.text


def test_a_disallowed_sender_gets_403_before_its_body_is_read(listener: HttpListener, api: RecordingApi) -> None:
    api.allowed = False
    # 10 of 50 announced bytes: a listener waiting for the whole body would never answer
    head = b"POST /callback/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n"
    with socket.create_connection(("127.0.0.1", listener.port), timeout=3) as sock:
        sock.sendall(head + b"0123456789")
        answer = read_until_closed(sock)
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 403 ")
    assert json.loads(body) == {"error": "callbacks are accepted only from a configured bridge"}
    assert api.asked == ["127.0.0.1"]
    assert api.callbacks == []


def test_bodies_up_to_max_body_are_taken_larger_ones_are_413(listener: HttpListener, api: RecordingApi) -> None:
    assert requests.post(url(listener, "/callback/1"), data=b"a" * MAX_BODY, timeout=5).status_code == 200
    too_large = requests.post(url(listener, "/callback/2"), data=b"b" * (MAX_BODY + 1), timeout=5)
    assert too_large.status_code == 413
    assert too_large.json() == {"error": f"body larger than {MAX_BODY} bytes"}
    assert [(bridge_id, len(body)) for bridge_id, _, body in api.callbacks] == [("1", MAX_BODY)]


@pytest.mark.parametrize("path", ["/callback/a/b", "/callback/1/", "/webhook/nuki-web/x", "/health", "/other"])
def test_posts_to_other_paths_are_404(listener: HttpListener, api: RecordingApi, path: str) -> None:
    answer = requests.post(url(listener, path), data=b"{}", timeout=5)
    assert answer.status_code == 404 and answer.json() == {"error": f"no endpoint {path}"}
    assert api.callbacks == [] and api.webhooks == []


def test_a_webhook_reaches_the_api_with_lower_cased_headers(listener: HttpListener, api: RecordingApi) -> None:
    api.allowed = False  # the bridge-only check is for callbacks: Nuki Web calls from the internet
    body = b'{"feature": "DEVICE_STATUS"}'
    answer = requests.post(url(listener, "/webhook/nuki-web"), data=body, timeout=5,
                           headers={"X-Nuki-Signature-SHA256": "AbC123", "Content-Type": "application/json"})
    assert answer.status_code == 202 and answer.json() == {"accepted": len(body)}
    assert api.asked == []
    [(headers, received)] = api.webhooks
    assert received == body
    assert headers["x-nuki-signature-sha256"] == "AbC123"  # values keep their case
    assert headers["content-type"] == "application/json"
    assert all(name == name.lower() for name in headers)


def test_one_connection_carries_several_requests(listener: HttpListener, api: RecordingApi) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
    try:
        statuses = []
        sockets = set()
        for method, path, body in [("GET", "/health", None), ("POST", "/callback/9", b"one"),
                                   ("GET", "/missing", None), ("POST", "/callback/9", b"two")]:
            connection.request(method, path, body=body)
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
            assert answer.getheader("Connection") is None
            sockets.add(id(connection.sock))
    finally:
        connection.close()
    assert statuses == [200, 200, 404, 200]
    assert len(sockets) == 1
    assert [body for _, _, body in api.callbacks] == [b"one", b"two"]


def test_stop_closes_the_port(api: RecordingApi) -> None:
    server = HttpListener("127.0.0.1", 0, api)
    server.start()
    assert server.alive
    port = server.port
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    server.stop()
    assert not server.alive
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()



def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="this machine has no IPv6 loopback")
@pytest.mark.parametrize("host", ["::", "::1"])
def test_an_ipv6_listen_address_is_served(host: str) -> None:
    """``server.host: "::"`` is valid configuration: it listens on IPv6 and, as a wildcard, on IPv4."""
    api = RecordingApi()
    server = HttpListener(host, 0, api)
    server.start()
    try:
        clients = ["::1", "127.0.0.1"] if host == "::" else ["::1"]
        for client in clients:
            address = f"[{client}]" if ":" in client else client
            answer = requests.post(f"http://{address}:{server.port}/callback/7", data=b"{}", timeout=5)
            assert answer.status_code == 200
        # an IPv4 bridge on the dual-stack socket is seen with its plain IPv4 address
        assert [ip for _, ip, _ in api.callbacks] == clients
    finally:
        server.stop()
