"""A local MQTT broker for the demo, the tests and the benchmarks.

Prefers ``mosquitto`` from PATH (the broker most users run); falls back to the
pure-Python ``amqtt`` broker only where mosquitto is not installed.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


class LocalBroker:
    """A broker on a free loopback port; ``stop()``/``start()`` simulate a broker restart on the same port."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, prefer: str = "auto") -> None:
        self.host = host
        self.port = port or free_port(host)
        mosquitto = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
        )
        if prefer == "amqtt" or (prefer == "auto" and not mosquitto):
            self.kind = "amqtt"
        elif mosquitto:
            self.kind = "mosquitto"
        else:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self._mosquitto = mosquitto
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="nuki2mqtt-broker-")
        self._amqtt_thread: threading.Thread | None = None
        self._amqtt_loop: asyncio.AbstractEventLoop | None = None

    @property
    def protocol(self) -> str:
        """The newest MQTT version this broker speaks, as ``mqtt.protocol`` writes it.

        amqtt speaks 3.1.1 only and never answers an MQTT 5 connect, so a client that tries 5
        first waits for its fallback timeout.
        """
        return "3.1.1" if self.kind == "amqtt" else "5"
        self._amqtt_broker: Any = None

    @property
    def running(self) -> bool:
        if self.kind == "mosquitto":
            return self._proc is not None and self._proc.poll() is None
        return self._amqtt_thread is not None and self._amqtt_thread.is_alive()

    def start(self) -> "LocalBroker":
        if self.kind == "mosquitto":
            self._start_mosquitto()
        else:
            self._start_amqtt()
        wait_for_port(self.host, self.port)
        _LOGGER.info("%s broker listening on %s:%d", self.kind, self.host, self.port)
        return self

    def stop(self) -> None:
        if self.kind == "mosquitto":
            if self._proc and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        elif self._amqtt_loop and self._amqtt_thread:
            loop, broker = self._amqtt_loop, self._amqtt_broker
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            self._amqtt_thread.join(timeout=10)
            self._amqtt_thread = None

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_mosquitto(self) -> None:
        conf = Path(self._tmp.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 10000\n"
            "set_tcp_nodelay true\n"
            "log_dest none\n"
        )
        assert self._mosquitto
        self._proc = subprocess.Popen(
            [self._mosquitto, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the demo reaches the gateway, which stops us in order
        )

    def _start_amqtt(self) -> None:
        try:
            from amqtt.broker import Broker
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "no MQTT broker available: install mosquitto, or pip install amqtt"
            ) from exc
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # amqtt 0.12's plugin configuration: anonymous clients, no $SYS topics, no topic checks
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._amqtt_loop = loop
            try:
                self._amqtt_broker = Broker(config, loop=loop)
                loop.run_until_complete(self._amqtt_broker.start())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._amqtt_thread = threading.Thread(target=serve, name="amqtt-broker", daemon=True)
        self._amqtt_thread.start()
        ready.wait(timeout=15)
        if errors:
            raise RuntimeError(f"amqtt broker failed to start: {errors[0]}")
