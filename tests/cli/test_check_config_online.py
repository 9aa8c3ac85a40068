"""`nuki2mqtt check-config --online` against a real broker and the bridge simulator."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from nuki2mqtt.broker import LocalBroker, free_port
from nuki2mqtt.cli import main
from nuki2mqtt.simulator import BridgeSimulator

LINE = re.compile(r"^(ok|warn|failed) +(\S+(?: callback URL)?): ")


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUKI2MQTT_CONFIG", raising=False)


def write_config(tmp_path: Path, broker_port: int, sim: BridgeSimulator, *, token: str | None = None,
                 token_mode: str = "encrypted", mqtt_extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"mqtt:\n  host: 127.0.0.1\n  port: {broker_port}\n{mqtt_extra}"
        "homeassistant: false\n"
        f"bridges:\n  - host: 127.0.0.1\n    port: {sim.port}\n    token: {token or sim.token}\n"
        f"    token_mode: {token_mode}\n"
        f"server:\n  port: {free_port()}\n"
    )
    return path


def check(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    code = main(["check-config", "--online", "-c", str(path), "--timeout", "2", *extra])
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"config OK: {path} (1 bridge(s)")
    results = {}
    for line in lines[1:-1]:
        match = LINE.match(line)
        assert match, f"not a check line: {line!r}"
        results[match.group(2)] = (match.group(1), line)
    return code, results, out


def test_everything_fine(capsys: pytest.CaptureFixture[str], broker: LocalBroker, simulator: BridgeSimulator,
                         tmp_path: Path) -> None:
    code, results, out = check(capsys, write_config(tmp_path, broker.port, simulator))
    assert code == 0
    assert list(results) == ["mqtt", "server.port", "bridges.0", "bridges.0.token", "bridges.0.clock",
                             "bridges.0.callbacks", "bridges.0 callback URL"]
    assert {status for status, _ in results.values()} == {"ok"}
    # amqtt speaks 3.1.1 only: the check says so
    protocol = "3.1.1; it refused MQTT 5, the gateway falls back the same way" if broker.kind == "amqtt" else "5"
    assert results["mqtt"][1] == (f"ok      mqtt: broker 127.0.0.1:{broker.port} accepted the connection without "
                                  f"a login (MQTT {protocol})")
    assert out.splitlines()[-1] == "All 7 online checks passed."
    assert simulator.token not in out
    assert simulator.callback_urls == []  # looked, registered nothing


def test_wrong_token_fails_with_a_fix(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                      simulator: BridgeSimulator, tmp_path: Path) -> None:
    path = write_config(tmp_path, broker.port, simulator, token="wrongtoken999")
    code, results, out = check(capsys, path)
    assert code == 1
    status, line = results["bridges.0.token"]
    assert status == "failed"
    assert line.startswith("failed  bridges.0.token: refused in encrypted mode (401). Fix: either the token is "
                           f"wrong (`nuki2mqtt pair --host 127.0.0.1 --port {simulator.port}` gets the current one)")
    assert "bridges.0.clock" not in results and "bridges.0.callbacks" not in results
    assert out.splitlines()[-1] == "1 of 5 online checks failed."
    assert "wrongtoken999" not in out


def test_clock_skew_warns_over_30_s(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                    simulator: BridgeSimulator, tmp_path: Path) -> None:
    simulator.clock_offset = 45.0
    code, results, out = check(capsys, write_config(tmp_path, broker.port, simulator))
    assert code == 0
    status, line = results["bridges.0.clock"]
    assert status == "warn" and "close to the 60 s at which encrypted tokens are refused" in line
    assert "Fix: sync this machine's clock" in line
    assert out.splitlines()[-1] == "All 7 online checks passed (1 warning)."


@pytest.mark.parametrize("mode", ["encrypted", "hashed"])
def test_clock_skew_beyond_60_s_fails(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                      simulator: BridgeSimulator, tmp_path: Path, mode: str) -> None:
    """The bridge refuses such tokens outright, so the failure shows on the token, naming the clock."""
    simulator.clock_offset = -90.0
    code, results, _ = check(capsys, write_config(tmp_path, broker.port, simulator, token_mode=mode))
    assert code == 1
    status, line = results["bridges.0.token"]
    assert status == "failed" and f"refused in {mode} mode (401)" in line
    assert "clock differs from the bridge's by more than 60 s" in line and "--token-mode plain" in line


def test_plain_token_shows_a_large_skew_as_warning(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                                   simulator: BridgeSimulator, tmp_path: Path) -> None:
    simulator.clock_offset = 600.0
    code, results, _ = check(capsys, write_config(tmp_path, broker.port, simulator, token_mode="plain"))
    assert code == 0
    status, line = results["bridges.0.clock"]
    assert status == "warn" and "+10 min off this machine's" in line and "plain tokens do not mind" in line


def test_broker_down(capsys: pytest.CaptureFixture[str], simulator: BridgeSimulator, tmp_path: Path) -> None:
    port = free_port()
    code, results, out = check(capsys, write_config(tmp_path, port, simulator))
    assert code == 1
    status, line = results["mqtt"]
    assert status == "failed"
    assert line.startswith(f"failed  mqtt: cannot connect to broker 127.0.0.1:{port}: Connection refused. Fix: ")
    assert results["bridges.0.token"][0] == "ok"  # the bridges are still checked
    assert out.splitlines()[-1] == "1 of 7 online checks failed."


def test_bridge_down(capsys: pytest.CaptureFixture[str], broker: LocalBroker, simulator: BridgeSimulator,
                     tmp_path: Path) -> None:
    path = write_config(tmp_path, broker.port, simulator)
    simulator.go_down()
    code, results, _ = check(capsys, path)
    assert code == 1
    assert results["bridges.0"][1].startswith(
        f"failed  bridges.0: 127.0.0.1:{simulator.port} not reachable: Connection refused; its other checks are skipped")


def test_mqtt_credentials_are_never_printed(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                            simulator: BridgeSimulator, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    path = write_config(tmp_path, broker.port, simulator, token="wrongtoken999",
                        mqtt_extra="  username: alice\n  password: hunter2secret\n")
    caplog.set_level(logging.DEBUG)
    code = main(["--debug", "check-config", "--online", "-c", str(path), "--timeout", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "as user alice" in out
    for secret in ("hunter2secret", "wrongtoken999"):
        assert secret not in out + err + caplog.text


def test_invalid_config_still_exit_2_without_going_online(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("server:\n  port: 70000\n")
    assert main(["check-config", "--online", "-c", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "server.port: value must be at most 65535\n"


def test_help_describes_the_online_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--help"]) == 0
    out = capsys.readouterr().out
    for words in ("--online", "bridges.N.clock", "callback URL", "exit status: 0 valid"):
        assert words in out


def test_no_bridges_checks_broker_and_listener(capsys: pytest.CaptureFixture[str], broker: LocalBroker,
                                               tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\nserver:\n  port: {free_port()}\n")
    assert main(["check-config", "--online", "-c", str(path)]) == 0
    lines: list[Any] = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["ok", "ok"]
    assert lines[-1] == "All 2 online checks passed."
