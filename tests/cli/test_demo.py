"""``nuki2mqtt demo``: one command brings up a broker, a simulated bridge and the gateway."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as paho
import pytest
import requests

from nuki2mqtt.broker import free_port
from tests.mqtt_recorder import MqttRecorder


@pytest.mark.parametrize("broker", ["auto", "amqtt"])
def test_demo_runs_and_answers_commands_then_stops_on_ctrl_c(broker: str) -> None:
    """``auto`` is mosquitto where installed; amqtt is what a machine without it gets."""
    mqtt_port, bridge_port, listen_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuki2mqtt", "demo", "--mqtt-port", str(mqtt_port),
         "--bridge-port", str(bridge_port), "--listen-port", str(listen_port), "--broker", broker],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(30), "".join(lines)
        time.sleep(0.5)
        text = "".join(lines)
        assert f"mosquitto_sub -h 127.0.0.1 -p {mqtt_port}" in text
        assert re.search(r"mosquitto_pub .* -t nuki2mqtt/1A2B3C4D/set -m unlock", text)
        kind = re.search(r"MQTT broker +(\w+) on ", text)
        assert kind, text
        if broker == "amqtt":
            assert kind.group(1) == "amqtt"
        client = MqttRecorder("127.0.0.1", mqtt_port,  # amqtt (where mosquitto is missing) speaks 3.1.1 only
                              protocol=paho.MQTTv311 if kind.group(1) == "amqtt" else paho.MQTTv5)
        client.subscribe("nuki2mqtt/#")
        client.subscribe("homeassistant/#")
        client.wait_json("nuki2mqtt/1A2B3C4D/state", lambda s: s["state"] == "locked", timeout=15)
        client.wait_for("homeassistant/lock/nuki_1A2B3C4D/lock/config", timeout=10)
        client.publish("nuki2mqtt/1A2B3C4D/set", json.dumps({"action": "unlock", "id": "demo-1"}))
        result = client.wait_json("nuki2mqtt/1A2B3C4D/result", lambda r: r["id"] == "demo-1", timeout=15)
        assert result["status"] == "ok"
        client.wait_json("nuki2mqtt/1A2B3C4D/state", lambda s: s["state"] == "unlocked", timeout=15)
        # the control endpoint the demo advertises rings the opener
        assert requests.post(f"http://127.0.0.1:{bridge_port}/_sim/ring?nukiId={0x3C4D5E6F}", timeout=5).ok
        assert client.wait_for("nuki2mqtt/3C4D5E6F/event", timeout=10).json["event_type"] == "ring"
        health = requests.get(f"http://127.0.0.1:{listen_port}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        client.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    if broker == "amqtt":  # connected at once over 3.1.1, and the broker's chatter stays out of the demo
        assert "falling back" not in err and "amqtt.broker" not in err and "transitions" not in err
