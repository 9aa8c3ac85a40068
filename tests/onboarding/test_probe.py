"""probe_bridge against the bridge simulator and small real servers: reachable, token, clock."""
from __future__ import annotations

import time

import pytest

from nuki2mqtt.broker import free_port
from nuki2mqtt.const import TokenMode
from nuki2mqtt.onboarding.probe import SKEW_FROM_DATE, SKEW_FROM_INFO, probe_bridge
from nuki2mqtt.simulator import BridgeSimulator
from tests.onboarding.conftest import TOKEN
from tests.onboarding.http_fixtures import serving


def test_without_token_a_401_means_reachable(sim: BridgeSimulator) -> None:
    probe = probe_bridge(sim.host, sim.port)
    assert probe.reachable and probe.status == 401
    assert probe.error is None and probe.token_accepted is None and probe.info is None
    assert probe.bridge_type is None and probe.firmware is None
    assert [r.path for r in sim.requests] == ["/info"]
    assert probe.address == f"127.0.0.1:{sim.port}"


@pytest.mark.parametrize("mode", list(TokenMode))
def test_with_token_reads_type_firmware_and_clock(sim: BridgeSimulator, mode: TokenMode) -> None:
    sim.clock_offset = 42.0
    probe = probe_bridge(sim.host, sim.port, TOKEN, mode)
    assert probe.reachable and probe.token_accepted is True and probe.token_mode is mode
    assert probe.bridge_type == "hardware" and probe.firmware == "2.16.1"
    assert probe.info is not None and probe.info.server_id == sim.server_id
    assert probe.skew_source == SKEW_FROM_INFO
    assert probe.skew == pytest.approx(42.0, abs=1.0)


def test_software_bridge_reports_app_version() -> None:
    with BridgeSimulator(port=0, token=TOKEN, bridge_type=2, firmware_version="1.6.0") as bridge:
        probe = probe_bridge(bridge.host, bridge.port, TOKEN)
    assert probe.bridge_type == "software" and probe.firmware == "1.6.0"


def test_wrong_token_is_reachable_but_refused(sim: BridgeSimulator) -> None:
    probe = probe_bridge(sim.host, sim.port, "not-the-token")
    assert probe.reachable and probe.token_accepted is False and probe.status == 401
    assert probe.info is None
    assert "not-the-token" not in repr(probe) and "not-the-token" not in (probe.error or "")


def test_skew_beyond_60_s_refuses_encrypted_but_plain_shows_it(sim: BridgeSimulator) -> None:
    sim.clock_offset = -600.0
    assert probe_bridge(sim.host, sim.port, TOKEN, TokenMode.ENCRYPTED).token_accepted is False
    plain = probe_bridge(sim.host, sim.port, TOKEN, TokenMode.PLAIN)
    assert plain.token_accepted is True
    assert plain.skew == pytest.approx(-600.0, abs=1.0)


def test_busy_bridge_is_asked_again(sim: BridgeSimulator) -> None:
    sim.inject_errors(503, 1)
    probe = probe_bridge(sim.host, sim.port, TOKEN)
    assert probe.token_accepted is True
    assert [r.status for r in sim.requests] == [503, 200]


def test_connection_refused_is_unreachable() -> None:
    port = free_port()
    probe = probe_bridge("127.0.0.1", port)
    assert not probe.reachable and probe.error == "Connection refused"
    with_token = probe_bridge("127.0.0.1", port, TOKEN)
    assert not with_token.reachable and "refused" in (with_token.error or "")


def test_date_header_gives_a_rough_clock_without_token() -> None:
    with serving(401, b"HTTP 401 Unauthorized", date_offset=-125.0, content_type="text/plain") as server:
        probe = probe_bridge("127.0.0.1", server.port)
    assert probe.reachable and probe.status == 401
    assert probe.skew_source == SKEW_FROM_DATE
    assert probe.skew == pytest.approx(-125.0, abs=1.5)


def test_date_header_also_helps_when_the_token_is_refused() -> None:
    with serving(401, b"", date_offset=3600.0) as server:
        probe = probe_bridge("127.0.0.1", server.port, TOKEN)
    assert probe.token_accepted is False
    assert probe.skew_source == SKEW_FROM_DATE and probe.skew == pytest.approx(3600.0, abs=1.5)


def test_no_date_header_no_clock() -> None:
    with serving(401, b"", date_offset=None) as server:
        probe = probe_bridge("127.0.0.1", server.port)
    assert probe.reachable and probe.skew is None and probe.skew_source is None


def test_silent_server_times_out_as_unreachable() -> None:
    import socket

    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        started = time.monotonic()
        probe = probe_bridge("127.0.0.1", listener.getsockname()[1], timeout=0.3)
    assert not probe.reachable and "no answer" in (probe.error or "")
    assert time.monotonic() - started < 3
