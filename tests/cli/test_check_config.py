"""`nuki2mqtt check-config`: exit codes, one line per issue, where the file is looked for."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuki2mqtt.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = {
    "MQTT_PASSWORD": "example-mqtt-pw",
    "NUKI_BRIDGE_TOKEN": "example-bridge-token",
    "NUKI_WEB_TOKEN": "example-web-token",
    "NUKI_WEBHOOK_SECRET": "example-webhook-secret",
}

VALID = """\
mqtt:
  host: broker.lan
bridges:
  - host: 192.168.1.50
    token: abcdef
  - host: 192.168.1.51
    token: ghijkl
homeassistant:
  enabled: false
"""

INVALID = """\
mqtt:
  port: 70000
  base_topic: homeassistant
bridges:
  - host: 192.168.1.50
    polll_interval: 30
    token_mode: sha
server:
  port: 0
"""


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUKI2MQTT_CONFIG", raising=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_config_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "nuki.yaml", VALID)
    assert main(["check-config", "-c", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"config OK: {path} (2 bridge(s), web: no, Home Assistant discovery: off)\n"
    assert err == ""


def test_invalid_config_exit_2_one_line_per_issue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "nuki.yaml", INVALID)
    assert main(["check-config", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "mqtt.port: value must be at most 65535",
        "mqtt.base_topic: must differ from homeassistant.discovery_prefix ('homeassistant')",
        "bridges.0.token: required key not provided",
        "bridges.0.polll_interval: unknown key 'polll_interval' (did you mean 'poll_interval'?)",
        "bridges.0.token_mode: must be one of encrypted, hashed, plain",
        "server.port: value must be at least 1",
    ]


def test_config_from_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "elsewhere.yaml", VALID)
    monkeypatch.setenv("NUKI2MQTT_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.yaml", INVALID)  # must not be the one read
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith(f"config OK: {path} (")


def test_option_beats_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUKI2MQTT_CONFIG", str(write(tmp_path / "bad.yaml", INVALID)))
    good = write(tmp_path / "good.yaml", VALID)
    assert main(["check-config", "-c", str(good)]) == 0
    assert capsys.readouterr().out.startswith(f"config OK: {good} (")


def test_default_is_config_yaml_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.yaml", "")
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == (
        "config OK: config.yaml (0 bridge(s), web: no, Home Assistant discovery: on)\n"
    )


def test_missing_file_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("config: file config.yaml not found; create it from config.example.yaml")


def test_yaml_error_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.yaml", "mqtt:\n  host: [broker\n")
    assert main(["check-config", "-c", str(path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"config: invalid YAML in {path}, line 3, column 1: ")


def test_unset_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NUKI2MQTT_TEST_TOKEN", raising=False)
    path = write(tmp_path / "c.yaml", "bridges:\n  - host: h\n    token: ${NUKI2MQTT_TEST_TOKEN}\n")
    assert main(["check-config", "-c", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "bridges.0.token: environment variable NUKI2MQTT_TEST_TOKEN is not set "
        "(set it, or write ${NUKI2MQTT_TEST_TOKEN:-default})"
    ]
    monkeypatch.setenv("NUKI2MQTT_TEST_TOKEN", "Very-Secret-Token-42")
    assert main(["check-config", "-c", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "Very-Secret-Token-42" not in out + err


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    example = REPO / "config.example.yaml"
    assert main(["check-config", "-c", str(example)]) == 0
    assert capsys.readouterr().out == (
        f"config OK: {example} (1 bridge(s), web: yes, Home Assistant discovery: on)\n"
    )


def test_console_entry_point_prints_lines_not_tracebacks(tmp_path: Path) -> None:
    """Through ``python -m nuki2mqtt``, as users and scripts call it."""
    path = write(tmp_path / "c.yaml", "server:\n  port: 70000\n")
    env = {k: v for k, v in os.environ.items() if k != "NUKI2MQTT_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "nuki2mqtt", "check-config", "-c", str(path)],
        capture_output=True, text=True, env=env, timeout=30, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == "server.port: value must be at most 65535\n"
    assert done.stdout == ""
