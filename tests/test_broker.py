"""The local broker of the demo and the tests: start, serve real clients, stop, restart."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid

import pytest

from nuki2mqtt.broker import LocalBroker, free_port, wait_for_port
from tests.mqtt_recorder import MqttRecorder, broker_preference, protocol_for

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)


def refuses_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("prefer", ["auto", "amqtt"])
def test_a_retained_message_reaches_a_later_subscriber(prefer: str) -> None:
    broker = LocalBroker(prefer=prefer)
    topic = f"n2m_{uuid.uuid4().hex[:10]}/status"
    try:
        assert broker.start() is broker and broker.running
        if prefer == "amqtt":
            assert broker.kind == "amqtt"
        publisher = MqttRecorder.on(broker)
        publisher.publish(topic, "online", retain=True)
        publisher.close()
        subscriber = MqttRecorder.on(broker)
        try:
            subscriber.subscribe(topic)
            message = subscriber.wait_for(topic)
            assert (message.text, message.retain) == ("online", True)
        finally:
            subscriber.close()
    finally:
        broker.close()
    assert not broker.running
    assert refuses_connections(broker.host, broker.port)


@pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed")
def test_mosquitto_is_preferred_where_installed() -> None:
    broker = LocalBroker()
    try:
        assert broker.kind == "mosquitto"
        assert not broker.running  # nothing starts before start()
    finally:
        broker.close()


def test_stop_frees_the_port_and_start_serves_it_again() -> None:
    port = free_port()
    broker = LocalBroker(port=port, prefer=broker_preference()).start()
    try:
        assert broker.port == port
        MqttRecorder(broker.host, port, protocol=protocol_for(broker)).close()
        broker.stop()
        assert not broker.running
        assert refuses_connections(broker.host, port)
        with socket.socket() as sock:  # bindable the way a restarting server binds it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((broker.host, port))
            sock.listen()
        broker.start()
        assert broker.running and broker.port == port
        again = MqttRecorder(broker.host, port, protocol=protocol_for(broker))
        topic = f"n2m_{uuid.uuid4().hex[:10]}/ping"
        again.subscribe(topic)
        again.publish(topic, "pong")
        assert again.wait_for(topic).text == "pong"
        again.close()
    finally:
        broker.close()


def test_free_port_can_be_bound_and_listened_on() -> None:
    for host in ("127.0.0.1", "127.0.0.2"):
        port = free_port(host)
        assert 1024 <= port <= 65535
        with socket.socket() as sock:
            sock.bind((host, port))
            sock.listen()


def test_wait_for_port_gives_up_naming_the_address() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"nothing listens on 127.0.0.1:{port}"):
        wait_for_port("127.0.0.1", port, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2


def test_wait_for_port_returns_once_something_listens() -> None:
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen_later() -> None:
        time.sleep(0.3)
        server.bind(("127.0.0.1", port))
        server.listen()

    opener = threading.Thread(target=listen_later)
    started = time.monotonic()
    opener.start()
    try:
        wait_for_port("127.0.0.1", port, timeout=5)
        assert 0.25 <= time.monotonic() - started < 3
    finally:
        opener.join()
        server.close()
