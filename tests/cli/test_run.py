"""``nuki2mqtt run`` as a real process: clean stop on SIGTERM, exit codes, no secrets in its output."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nuki2mqtt.broker import LocalBroker, free_port
from tests.mqtt_recorder import MqttRecorder

FRONT = "1A2B3C4D"
TOKEN = "SecretBridgeToken9876"
PASSWORD = "Mqtt-Pa55word-xyz"


def start_gateway(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nuki2mqtt", *extra, "run", "-c", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def sim() -> Any:
    from nuki2mqtt.simulator import BridgeSimulator

    with BridgeSimulator(host="127.0.0.1", port=0, token=TOKEN, action_duration=0.02) as simulator:
        yield simulator


def write_config(path: Path, broker: LocalBroker, sim: Any, base: str, **bridge: Any) -> Path:
    path.write_text(json.dumps({
        "mqtt": {"host": broker.host, "port": broker.port, "base_topic": base, "client_id": f"run-{base}",
                 "username": "nuki", "password": "${TEST_MQTT_PASSWORD}"},
        "homeassistant": {"enabled": True, "discovery_prefix": f"{base}_ha", "status_topic": f"{base}_ha/status"},
        "bridges": [{"host": sim.host, "port": sim.port, "token": "${TEST_BRIDGE_TOKEN}", **bridge}],
        "server": {"host": "127.0.0.1", "port": free_port()},
        "log_level": "debug",
    }))
    return path


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_BRIDGE_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_MQTT_PASSWORD", PASSWORD)


@pytest.mark.parametrize("token_mode", ["plain", "hashed", "encrypted"])
def test_sigterm_stops_cleanly_and_no_secret_is_ever_written(
        tmp_path: Path, broker: LocalBroker, sim: Any, base_topic: str, recorder: MqttRecorder,
        token_mode: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    recorder.subscribe(f"{base_topic}_ha/#")
    config = write_config(tmp_path / "config.yaml", broker, sim, base_topic, token_mode=token_mode)
    proc = start_gateway(config, "--debug")
    try:
        recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True, timeout=20)
        deadline = time.monotonic() + 10
        while not sim.callback_urls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sim.callback_urls) == 1
        recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
        recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: r["status"] == "ok", timeout=10)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert sim.callback_urls == []
    assert recorder.is_retained(recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "offline"))
    # --debug logged plenty, and never a secret
    assert "DEBUG" in err and "/lockAction" in err
    for secret in (TOKEN, PASSWORD):
        assert secret not in out and secret not in err
        for message in recorder.messages():
            assert secret.encode() not in message.payload, message.topic
    assert "Traceback" not in err


def test_invalid_config_exits_2_with_every_error_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("mqtt:\n  port: 70000\n  hots: x\nbridges:\n  - host: 10.0.0.2\n")
    result = subprocess.run([sys.executable, "-m", "nuki2mqtt", "run", "-c", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "mqtt.port: value must be at most 65535" in result.stderr
    assert "mqtt.hots" in result.stderr and "bridges.0.token" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "nuki2mqtt", "run", "-c", str(tmp_path / "nope.yaml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "nope.yaml" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_bridge_at_start_keeps_running(tmp_path: Path, broker: LocalBroker, base_topic: str,
                                                   recorder: MqttRecorder) -> None:
    class Gone:
        host, port = "127.0.0.1", free_port()

    recorder.subscribe(f"{base_topic}/#")
    config = write_config(tmp_path / "config.yaml", broker, Gone, base_topic)
    proc = start_gateway(config)
    try:
        bridges = recorder.wait_json(f"{base_topic}/bridges", lambda b: b and b[0]["reachable"] is False, timeout=15)
        assert bridges[0]["id"] is None
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
