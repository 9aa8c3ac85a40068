"""The single online checks: listener port, callback slots and URL, clock levels, Docker hints."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.bridge.models import BridgeInfo
from nuki2mqtt.broker import free_port
from nuki2mqtt.config import BridgeConfig, ServerConfig
from nuki2mqtt.const import TokenMode
from nuki2mqtt.onboarding import online_checks
from nuki2mqtt.onboarding.callback_address import (
    callback_url,
    docker_network_suspect,
    is_local_address,
)
from nuki2mqtt.onboarding.online_checks import (
    FAILED,
    OK,
    WARN,
    CheckResult,
    check_bridge,
    check_listener,
)
from nuki2mqtt.onboarding.probe import SKEW_FROM_INFO, BridgeProbe
from nuki2mqtt.simulator import BridgeSimulator
from tests.onboarding.conftest import TOKEN


def bridge_cfg(sim: BridgeSimulator, **values: Any) -> BridgeConfig:
    return BridgeConfig(host=sim.host, port=sim.port, token=values.pop("token", TOKEN), **values)


def by_subject(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.subject: r for r in results}


# --------------------------------------------------------------------------- line format


def test_line_format() -> None:
    assert CheckResult(OK, "mqtt", "fine", "never shown").line() == "ok      mqtt: fine"
    assert CheckResult(FAILED, "mqtt", "down", "start it").line() == "failed  mqtt: down. Fix: start it"
    assert CheckResult(WARN, "x", "hm").line() == "warn    x: hm"


# --------------------------------------------------------------------------- listener


def test_listener_port_free() -> None:
    port = free_port()
    result = check_listener(ServerConfig(host="0.0.0.0", port=port), 1)
    assert (result.status, result.message) == (OK, f"0.0.0.0:{port} is free for the gateway's listener")


def test_listener_port_taken_by_another_program() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        result = check_listener(ServerConfig(host="127.0.0.1", port=port), 0.5)
    assert result.status == FAILED and "in use by another program" in result.message
    assert "server.port" in (result.fix or "")


@pytest.fixture
def running_gateway_health() -> Iterator[int]:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = json.dumps({"status": "ok", "mqtt": "connected", "bridges": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_listener_port_taken_by_a_running_gateway_is_fine(running_gateway_health: int) -> None:
    result = check_listener(ServerConfig(host="127.0.0.1", port=running_gateway_health), 1)
    assert result.status == OK and "gateway already listens" in result.message and "health: ok" in result.message


def test_listener_host_not_of_this_machine() -> None:
    result = check_listener(ServerConfig(host="192.0.2.77", port=free_port()), 1)
    assert result.status == FAILED and result.subject == "server.host"


# --------------------------------------------------------------------------- bridge checks


def test_good_bridge(sim: BridgeSimulator) -> None:
    server = ServerConfig(host="0.0.0.0", port=free_port())
    results = by_subject(list(check_bridge(0, bridge_cfg(sim), server, 2)))
    assert [r.status for r in results.values()] == [OK] * 5
    assert results["bridges.0.token"].message == (
        f"accepted in encrypted mode (hardware bridge {sim.server_id}, firmware 2.16.1)"
    )
    assert results["bridges.0.callbacks"].message == "0 of 3 slots used; the gateway adds its own when it starts"
    url = f"http://127.0.0.1:{server.port}/callback/{sim.server_id}"
    assert results["bridges.0 callback URL"].message.startswith(f"{url} (auto-detected")


def test_callback_already_registered(sim: BridgeSimulator) -> None:
    server = ServerConfig(port=free_port())
    with BridgeClient(sim.host, sim.port, TOKEN) as client:
        client.callback_add("http://192.0.2.1:1/other-app")
        client.callback_add(callback_url(server, sim.host, sim.port, str(sim.server_id)))
    results = by_subject(list(check_bridge(0, bridge_cfg(sim), server, 2)))
    assert results["bridges.0.callbacks"].status == OK
    assert results["bridges.0.callbacks"].message == "2 of 3 slots used, ours among them"


def test_all_slots_taken_by_others(sim: BridgeSimulator) -> None:
    with BridgeClient(sim.host, sim.port, TOKEN) as client:
        for n in range(3):
            client.callback_add(f"http://192.0.2.1:1/app{n}")
    results = by_subject(list(check_bridge(0, bridge_cfg(sim), ServerConfig(port=free_port()), 2)))
    result = results["bridges.0.callbacks"]
    assert result.status == FAILED and "all 3 slots are taken" in result.message
    assert "bridges.0.callbacks: false" in (result.fix or "")


def test_old_nuki2mqtt_callback_at_another_address_is_pointed_out(sim: BridgeSimulator) -> None:
    stale = f"http://192.0.2.9:8321/callback/{sim.server_id}"
    with BridgeClient(sim.host, sim.port, TOKEN) as client:
        client.callback_add(stale)
    results = by_subject(list(check_bridge(0, bridge_cfg(sim), ServerConfig(port=free_port()), 2)))
    assert results["bridges.0.callbacks"].status == WARN
    assert stale in results["bridges.0.callbacks"].message


def test_callbacks_off(sim: BridgeSimulator) -> None:
    results = by_subject(list(check_bridge(0, bridge_cfg(sim, callbacks=False, poll_interval=30),
                                           ServerConfig(port=free_port()), 2)))
    assert results["bridges.0.callbacks"].message == "off: the gateway polls /list every 30 s (0 of 3 slots used)"
    assert "bridges.0 callback URL" not in results


def test_wrong_token_skips_what_needs_it(sim: BridgeSimulator) -> None:
    results = by_subject(list(check_bridge(0, bridge_cfg(sim, token="wrong-token-value"),
                                           ServerConfig(port=free_port()), 2)))
    assert list(results) == ["bridges.0", "bridges.0.token", "bridges.0 callback URL"]
    token = results["bridges.0.token"]
    assert token.status == FAILED and token.message == "refused in encrypted mode (401)"
    assert "nuki2mqtt pair --host 127.0.0.1" in (token.fix or "") and "clock" in (token.fix or "")
    assert all("wrong-token-value" not in r.line() for r in results.values())


def test_wrong_plain_token_blames_the_token_only(sim: BridgeSimulator) -> None:
    results = by_subject(list(check_bridge(0, bridge_cfg(sim, token="nope", token_mode=TokenMode.PLAIN),
                                           ServerConfig(port=free_port()), 2)))
    assert "clock" not in (results["bridges.0.token"].fix or "")


def _probe(skew: float, mode: TokenMode, connected: bool = True) -> BridgeProbe:
    info = BridgeInfo.from_json({"bridgeType": 1, "ids": {"serverId": 7}, "serverConnected": connected})
    return BridgeProbe("h", 1, True, token_mode=mode, token_accepted=True, info=info, skew=skew,
                       skew_source=SKEW_FROM_INFO)


@pytest.mark.parametrize(
    ("skew", "mode", "status"),
    [(5, TokenMode.ENCRYPTED, OK), (45, TokenMode.ENCRYPTED, WARN), (-45, TokenMode.HASHED, WARN),
     (90, TokenMode.ENCRYPTED, FAILED), (90, TokenMode.HASHED, FAILED), (90, TokenMode.PLAIN, WARN),
     (20, TokenMode.PLAIN, OK)],
)
def test_clock_levels(skew: float, mode: TokenMode, status: str) -> None:
    cfg = BridgeConfig(host="h", token="t", token_mode=mode)
    result = online_checks._clock_result("bridges.0", cfg, _probe(skew, mode))
    assert result.status == status
    if status != OK:
        assert "NTP" in (result.fix or "") or "ntp" in (result.fix or "")


def test_clock_mentions_a_bridge_without_server_connection() -> None:
    cfg = BridgeConfig(host="h", token="t")
    result = online_checks._clock_result("bridges.0", cfg, _probe(50, TokenMode.ENCRYPTED, connected=False))
    assert "not connected to the Nuki servers" in result.message


# --------------------------------------------------------------------------- callback URL


def url_check(sim: BridgeSimulator, server: ServerConfig) -> CheckResult:
    return online_checks._callback_url_result("bridges.0", bridge_cfg(sim), server, "42")


def test_advertised_url_elsewhere_is_a_warning_about_forwarding(sim: BridgeSimulator) -> None:
    result = url_check(sim, ServerConfig(port=8321, advertise_url="http://192.0.2.20:18321"))
    assert result.status == WARN
    assert result.message.startswith("http://192.0.2.20:18321/callback/42: 192.0.2.20 is not an address of this machine")


def test_advertised_local_address_must_use_the_listener_port(sim: BridgeSimulator) -> None:
    assert url_check(sim, ServerConfig(port=8321, advertise_url="http://127.0.0.1:8321")).status == OK
    result = url_check(sim, ServerConfig(port=8321, advertise_url="http://127.0.0.1:9999"))
    assert result.status == FAILED and "not on the advertised port" in result.message


def test_advertised_host_that_does_not_resolve(sim: BridgeSimulator) -> None:
    result = url_check(sim, ServerConfig(advertise_url="http://nothing-here.invalid:8321"))
    assert result.status == FAILED and "cannot resolve nothing-here.invalid" in result.message


def test_listener_bound_to_another_address(sim: BridgeSimulator) -> None:
    result = url_check(sim, ServerConfig(host="192.0.2.5", port=8321))
    assert result.status == FAILED and "binds only to server.host 192.0.2.5" in result.message


@pytest.mark.parametrize(
    ("ours", "bridge", "suspect"),
    [("172.17.0.2", "192.168.1.50", True), ("172.20.5.3", "10.0.0.9", True),
     ("172.17.0.2", "172.17.0.1", False),  # the bridge (a simulator) on the same Docker network
     ("172.16.4.2", "172.16.9.9", False),  # a LAN that happens to use 172.16/16
     ("192.168.1.20", "192.168.1.50", False), ("fe80::1", "192.168.1.50", False)],
)
def test_docker_network_suspect(ours: str, bridge: str, suspect: bool) -> None:
    assert docker_network_suspect(ours, bridge) is suspect


def test_is_local_address() -> None:
    assert is_local_address("127.0.0.1")
    assert not is_local_address("192.0.2.123")


def test_callback_url_like_the_gateway() -> None:
    assert callback_url(ServerConfig(port=8321), "127.0.0.1", 8080, "5") == "http://127.0.0.1:8321/callback/5"
    server = ServerConfig(advertise_url="http://10.1.1.1:9000")
    assert callback_url(server, "127.0.0.1", 8080, "5") == "http://10.1.1.1:9000/callback/5"
