"""The MQTT side against real brokers: restart recovery, the 3.1.1 fallback, the last will."""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from typing import Any, Iterator

import paho.mqtt.client as paho
import pytest
import requests

from nuki2mqtt.broker import LocalBroker, free_port
from nuki2mqtt.config import MqttConfig, parse_config
from nuki2mqtt.gateway import Gateway
from nuki2mqtt.mqtt import MqttConnection
from tests.mqtt_recorder import MqttRecorder, broker_preference

FRONT = "1A2B3C4D"


def gateway_for(broker: LocalBroker, sim: Any, base: str, **mqtt: Any) -> Gateway:
    raw = {
        "mqtt": {"host": broker.host, "port": broker.port, "base_topic": base, "client_id": f"gw-{base}", **mqtt},
        "homeassistant": {"enabled": False},
        "bridges": [{"host": sim.host, "port": sim.port, "token": sim.token, "poll_interval": 0}],
        "server": {"host": "127.0.0.1", "port": free_port()},
    }
    return Gateway(parse_config(raw, env={}))


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    with LocalBroker(prefer=broker_preference()) as broker:
        yield broker


def test_broker_restart_gets_everything_back(own_broker: LocalBroker, simulator: Any, base_topic: str) -> None:
    gateway = gateway_for(own_broker, simulator, base_topic)
    gateway.start()
    assert gateway.wait_ready(15)
    try:
        first = MqttRecorder.on(own_broker)
        first.subscribe(f"{base_topic}/#")
        first.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
        first.close()
        own_broker.stop()  # no persistence: every retained message is gone
        _wait(lambda: not gateway.mqtt.connected, 10)
        health = requests.get(f"http://127.0.0.1:{gateway.listener.port}/health", timeout=5)
        assert health.status_code == 503
        assert health.json()["status"] == "down" and health.json()["mqtt"] == "disconnected"
        own_broker.start()
        assert gateway.mqtt.wait_connected(5) or _wait(lambda: gateway.mqtt.connected, 10)
        _wait(lambda: gateway.mqtt.connected, 10)
        time.sleep(0.5)
        second = MqttRecorder.on(own_broker)
        second.subscribe(f"{base_topic}/#")
        assert second.is_retained(second.wait_for(f"{base_topic}/status", lambda m: m.text == "online"))
        assert second.wait_json(f"{base_topic}/{FRONT}/state", lambda s: s["id"] == FRONT)
        assert len(second.wait_json(f"{base_topic}/devices", lambda d: True)) == 3
        assert second.wait_json(f"{base_topic}/bridges", lambda b: True)
        assert second.wait_for(f"{base_topic}/{FRONT}/availability").text == "online"
        # commands work again
        second.publish(f"{base_topic}/{FRONT}/set", "unlock")
        assert second.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)["status"] == "ok"
        second.close()
    finally:
        gateway.stop()


def _wait(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return True


def test_falls_back_to_311_when_the_broker_refuses_5(simulator: Any, base_topic: str, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    with LocalBroker(prefer="amqtt") as broker:  # amqtt speaks MQTT 3.1.1 only
        gateway = gateway_for(broker, simulator, base_topic)
        gateway.start()
        try:
            _wait(lambda: gateway.mqtt.connected, 15)
            assert not gateway.mqtt.is_mqtt5
            assert "falling back to MQTT 3.1.1" in caplog.text
            client = MqttRecorder(broker.host, broker.port, protocol=paho.MQTTv311)
            client.subscribe(f"{base_topic}/#")
            client.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True, timeout=10)
            client.publish(f"{base_topic}/{FRONT}/set", "unlock")
            assert client.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True, timeout=10)["status"] == "ok"
            client.close()
        finally:
            gateway.stop()


def test_last_will_is_offline(broker: LocalBroker, simulator: Any, base_topic: str, recorder: Any) -> None:
    recorder.subscribe(f"{base_topic}/status")
    gateway = gateway_for(broker, simulator, base_topic)
    gateway.start()
    # amqtt never answers an MQTT 5 CONNECT: the gateway falls back to 3.1.1 after CONNACK_TIMEOUT (5 s)
    recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "online", timeout=15)
    # an unclean loss: drop the socket without DISCONNECT, the broker publishes the will
    sock = gateway.mqtt._client.socket()
    gateway.mqtt._stopping = True
    gateway.mqtt._client.loop_stop()
    sock.close()
    will = recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "offline", timeout=10)
    assert recorder.is_retained(will)
    gateway.mqtt._client.disconnect()
    for bridge in gateway.bridges:
        bridge.worker.stop()
    gateway.listener.stop()


def _make_certs(directory: Any) -> dict[str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with openssl."""
    import subprocess

    d = directory
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=nuki2mqtt test CA",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{d}/ext.cnf", "-out", f"{d}/server.crt")
    return {"ca": f"{d}/ca.crt", "cert": f"{d}/server.crt", "key": f"{d}/server.key"}


@pytest.mark.skipif(not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")),
                    reason="a TLS listener needs mosquitto (.ci/run installs it)")
def test_tls_with_username_and_password(tmp_path: Any, simulator: Any, base_topic: str) -> None:
    import subprocess

    from nuki2mqtt.broker import wait_for_port

    certs = _make_certs(tmp_path)
    passwd = tmp_path / "passwd"
    subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b", "-c", str(passwd),
                    "gateway", "s3cret-pw"], check=True, capture_output=True)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # as root, mosquitto would switch to its own user, which cannot read pytest's private tmp_path
    stay = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{stay}listener {port} 127.0.0.1\ncafile {certs['ca']}\ncertfile {certs['cert']}\n"
                    f"keyfile {certs['key']}\nallow_anonymous false\npassword_file {passwd}\n")
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port)
        raw = {
            "mqtt": {"host": "127.0.0.1", "port": port, "base_topic": base_topic, "client_id": f"tls-{base_topic}",
                     "username": "gateway", "password": "s3cret-pw", "tls": {"ca_certs": certs["ca"]}},
            "homeassistant": {"enabled": False},
            "bridges": [{"host": simulator.host, "port": simulator.port, "token": simulator.token}],
            "server": {"host": "127.0.0.1", "port": free_port()},
        }
        gateway = Gateway(parse_config(raw, env={}))
        gateway.start()
        try:
            assert gateway.wait_ready(15), "no TLS connection"
            assert gateway.mqtt.is_mqtt5
        finally:
            gateway.stop()
        # a wrong password is refused and the gateway says so
        raw["mqtt"]["password"] = "wrong"
        refused = Gateway(parse_config(raw, env={}))
        refused.start()
        try:
            assert not refused.mqtt.wait_connected(3)
            assert refused.mqtt.is_mqtt5  # a refused login is not a reason to give up MQTT 5
        finally:
            refused.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_value_published_during_a_republish_is_never_overtaken_by_the_old_copy(broker: LocalBroker,
                                                                                  base_topic: str) -> None:
    """A reconnect republishes every retained topic while workers keep publishing new states.

    The injected delay parks the republish after its first topic and publishes a newer value of
    the second one from another thread: the broker must end up holding the newer value.
    """
    first, second = f"{base_topic}/first/state", f"{base_topic}/second/state"
    connection = MqttConnection(MqttConfig(host=broker.host, port=broker.port, client_id=f"race-{base_topic}",
                                           base_topic=base_topic), clock=time.monotonic)
    connection.start()
    try:
        assert connection.wait_connected(10)
        connection.publish(first, "first-1", retain=True)
        connection.publish(second, "second-old", retain=True)
        client = connection._client
        send = client.publish
        newer = threading.Thread(target=connection.publish, args=(second, "second-new"), kwargs={"retain": True})
        sent: list[tuple[str, Any]] = []
        delivered: list[Any] = []

        def parked_publish(topic: str, payload: Any = None, *args: Any, **kwargs: Any) -> Any:
            if topic == first and not newer.is_alive() and not sent:
                newer.start()
                newer.join(0.3)  # with the lock it must wait until the republish is done
            sent.append((topic, payload))
            info = send(topic, payload, *args, **kwargs)
            delivered.append(info)
            return info

        client.publish = parked_publish  # type: ignore[method-assign]
        connection.republish()
        newer.join(5)
        client.publish = send  # type: ignore[method-assign]
        assert [payload for topic, payload in sent if topic == second][-1] == b"second-new"
        for info in delivered:
            info.wait_for_publish(5)  # the broker has them all before the reader asks
        reader = MqttRecorder.on(broker)
        try:
            reader.subscribe(second)
            assert reader.wait_for(second).text == "second-new"
        finally:
            reader.close()
    finally:
        connection.stop()
