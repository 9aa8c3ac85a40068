"""probe_broker against real brokers: accepted, wrong login, nothing listening, a silent server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from nuki2mqtt.broker import LocalBroker, free_port, wait_for_port
from nuki2mqtt.config import MqttConfig
from nuki2mqtt.onboarding.mqtt_probe import NOT_AUTHORIZED, probe_broker
from tests.mqtt_recorder import protocol_for


@pytest.fixture(scope="module")
def locked_broker() -> Iterator[int]:
    """mosquitto with one user alice/secret1 and no anonymous access."""
    with tempfile.TemporaryDirectory(prefix="nuki2mqtt-locked-") as name:
        yield from _run_locked_broker(Path(name))


def _run_locked_broker(folder: Path) -> Iterator[int]:
    finder = LocalBroker()  # finds mosquitto the way the tests' brokers do; starts nothing
    mosquitto = finder._mosquitto
    finder.close()
    if not (mosquitto and shutil.which("mosquitto_passwd")):
        pytest.skip("a broker with a password file needs mosquitto (apt-get install mosquitto)")
    passwords = folder / "passwords"
    subprocess.run([shutil.which("mosquitto_passwd") or "mosquitto_passwd", "-b", "-c", str(passwords),
                    "alice", "secret1"], check=True, capture_output=True)
    os.chmod(folder, 0o755)  # mosquitto started as root drops to user mosquitto before reading it
    os.chmod(passwords, 0o644)
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    "persistence false\nlog_dest none\n")
    proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_open_broker_accepts_mqtt5(broker: LocalBroker) -> None:
    result = probe_broker(MqttConfig(host=broker.host, port=broker.port), timeout=3)
    # amqtt speaks 3.1.1 only: the probe falls back to it
    assert result.ok and result.protocol == broker.protocol


def test_configured_311_is_used(broker: LocalBroker) -> None:
    result = probe_broker(MqttConfig(host=broker.host, port=broker.port, protocol="3.1.1"), timeout=3)
    assert result.protocol == "3.1.1"


def test_right_login_is_accepted(locked_broker: int) -> None:
    cfg = MqttConfig(host="127.0.0.1", port=locked_broker, username="alice", password="secret1")
    assert probe_broker(cfg, timeout=3).protocol == "5"


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), (None, None)])
def test_wrong_or_missing_login_is_refused(locked_broker: int, username: str | None, password: str | None) -> None:
    cfg = MqttConfig(host="127.0.0.1", port=locked_broker, username=username, password=password)
    result = probe_broker(cfg, timeout=3)
    assert not result.ok and result.refused == NOT_AUTHORIZED
    assert "wrong" not in repr(result)


def test_nothing_listening() -> None:
    result = probe_broker(MqttConfig(host="127.0.0.1", port=free_port()), timeout=2)
    assert not result.ok and result.error == "Connection refused"


def test_unresolvable_host() -> None:
    result = probe_broker(MqttConfig(host="no-such-host.invalid", port=1883), timeout=2)
    assert result.error == "cannot resolve the host name no-such-host.invalid"


def test_silent_server_is_tried_with_both_protocols_then_reported() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        result = probe_broker(MqttConfig(host="127.0.0.1", port=listener.getsockname()[1]), timeout=0.3)
    assert not result.ok
    assert result.error == "no answer to the MQTT 3.1.1 CONNECT within 0.3 s"


def test_probe_does_not_throw_a_running_gateway_off_the_broker(broker: LocalBroker, base_topic: str) -> None:
    """A second connection with the gateway's own client id would disconnect it and fire its last will."""
    import threading

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client_id = f"gw-{base_topic}"
    gateway = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol_for(broker))
    connected, dropped = threading.Event(), threading.Event()
    gateway.on_connect = lambda *args: connected.set()
    gateway.on_disconnect = lambda *args: dropped.set()
    gateway.connect(broker.host, broker.port)
    gateway.loop_start()
    try:
        assert connected.wait(5)
        assert probe_broker(MqttConfig(host=broker.host, port=broker.port, client_id=client_id), timeout=3).ok
        assert not dropped.wait(0.5)
    finally:
        gateway.disconnect()
        gateway.loop_stop()
