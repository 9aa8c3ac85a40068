"""`nuki2mqtt discover` against a local discovery URL that points at a simulated bridge."""
from __future__ import annotations

import re
from typing import Any

import pytest

from nuki2mqtt.broker import free_port
from nuki2mqtt.cli import main
from nuki2mqtt.simulator import BridgeSimulator
from tests.onboarding.http_fixtures import discovery_body, serving

DISABLED_ID = 555000111
GONE_ID = 123456789


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUKI_BRIDGE_TOKEN", raising=False)


def table(out: str) -> list[list[str]]:
    """The table's rows split into cells (cells are two or more spaces apart)."""
    lines = [line for line in out.splitlines() if line.startswith("  ")]
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["discover", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def listing(simulator: BridgeSimulator) -> Any:
    gone = free_port()
    body = discovery_body((simulator.server_id, "127.0.0.1", simulator.port), (GONE_ID, "127.0.0.1", gone),
                          (DISABLED_ID, "0.0.0.0", 0))
    with serving(200, body) as server:
        server.gone_port = gone  # type: ignore[attr-defined]
        yield server


def test_table_without_token(capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator, listing: Any) -> None:
    code, out, err = run(capsys, "--url", listing.url, "--timeout", "2")
    assert code == 0 and err == ""
    assert out.startswith(f"3 bridge(s) listed by {listing.url}:\n")
    rows = table(out)
    assert rows[0] == ["BRIDGE ID", "ADDRESS", "REACHABLE", "TYPE", "FIRMWARE", "CLOCK"]
    assert rows[1][:5] == [str(simulator.server_id), f"127.0.0.1:{simulator.port}", "yes", "?", "?"]
    assert rows[2] == [str(GONE_ID), f"127.0.0.1:{listing.gone_port}", "no", "-", "-", "-"]
    assert rows[3] == [str(DISABLED_ID), "(discovery off)", "-", "-", "-", "-"]
    assert f"- {GONE_ID} at 127.0.0.1:{listing.gone_port}: not reachable: Connection refused" in out
    assert f"- {DISABLED_ID}: discovery is turned off on this bridge (listed as 0.0.0.0:0)" in out
    assert "--token TOKEN or NUKI_BRIDGE_TOKEN" in out
    assert f"Next: nuki2mqtt pair --host 127.0.0.1 --port {simulator.port}" in out
    assert [r.path for r in simulator.requests] == ["/info"]  # one unauthenticated request, nothing else


def test_token_shows_type_firmware_and_the_clock_difference(
    capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator, listing: Any
) -> None:
    simulator.clock_offset = 45.0
    code, out, _ = run(capsys, "--url", listing.url, "--token", simulator.token)
    assert code == 0
    row = table(out)[1]
    assert row[:5] == [str(simulator.server_id), f"127.0.0.1:{simulator.port}", "yes", "hardware", "2.16.1"]
    assert row[5:] in (["+44 s", "check"], ["+45 s", "check"], ["+46 s", "check"])
    assert f"at 127.0.0.1:{simulator.port}: the clocks differ by +4" in out
    assert simulator.token not in out
    assert "Next: nuki2mqtt check-config --online" in out


def test_token_from_the_environment(capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator,
                                    listing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUKI_BRIDGE_TOKEN", simulator.token)
    code, out, _ = run(capsys, "--url", listing.url)
    assert code == 0 and table(out)[1][3:5] == ["hardware", "2.16.1"]
    assert "nuki2mqtt pair" not in out


def test_skew_beyond_60_s_in_encrypted_mode_is_a_refused_token_plain_shows_it(
    capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator
) -> None:
    simulator.clock_offset = -300.0
    where = ["--host", simulator.host, "--port", str(simulator.port), "--token", simulator.token]
    code, out, _ = run(capsys, *where)
    assert code == 0
    assert "refused the token in encrypted mode (401): wrong token, or clocks more than 60 s apart" in out
    code, out, _ = run(capsys, *where, "--token-mode", "plain")
    assert table(out)[1][-2:] == ["-5 min", "too far"]
    assert simulator.token not in out


def test_host_skips_the_discovery_url(capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator) -> None:
    code, out, _ = run(capsys, "--host", "127.0.0.1", "--port", str(simulator.port), "--token", simulator.token)
    assert code == 0
    assert out.startswith(f"Bridge at 127.0.0.1:{simulator.port}:\n")
    assert table(out)[1][:5] == [str(simulator.server_id), f"127.0.0.1:{simulator.port}", "yes", "hardware", "2.16.1"]


def test_no_bridges(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(200, {"bridges": [], "errorCode": 0}) as server:
        code, out, err = run(capsys, "--url", server.url)
    assert code == 1 and err == ""
    assert out.startswith("No bridges found.")
    assert "same network" in out and "HTTP API activated in the Nuki app" in out


def test_discovery_url_unreachable_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/discover/bridges"
    code, out, err = run(capsys, "--url", url)
    assert code == 1 and out == ""
    assert err == (f"nuki2mqtt discover: cannot reach the discovery URL {url}: Connection refused; check this "
                   "machine's internet connection (or give the bridge's address with --host IP)\n")


@pytest.mark.parametrize(("status", "body", "words"), [(500, b"", "HTTP 500"), (200, b"<html>", "body is not JSON")])
def test_discovery_url_odd_answer_is_one_line(capsys: pytest.CaptureFixture[str], status: int, body: bytes,
                                              words: str) -> None:
    with serving(status, body, content_type="text/html") as server:
        code, out, err = run(capsys, "--url", server.url)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err
