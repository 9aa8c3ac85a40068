"""Address helpers behind the callback URL and the callback source check."""
from __future__ import annotations

import pytest

from nuki2mqtt.network import callback_url, docker_network_suspect, local_address_for, normalize_address, resolve_addresses


def test_local_address_follows_the_route() -> None:
    assert local_address_for("127.0.0.1", 8080) == "127.0.0.1"
    assert local_address_for("127.0.0.5", 8080) == "127.0.0.1"


def test_resolve_addresses() -> None:
    assert "127.0.0.1" in resolve_addresses("localhost")
    assert resolve_addresses("192.0.2.7") == frozenset({"192.0.2.7"})
    assert resolve_addresses("no-such-host.invalid") == frozenset()


def test_ipv4_mapped_addresses_are_normalized() -> None:
    assert normalize_address("::ffff:192.168.1.5") == "192.168.1.5"
    assert normalize_address("192.168.1.5") == "192.168.1.5"


@pytest.mark.parametrize(("address", "bridge", "suspect"), [
    ("172.17.0.2", "192.168.1.50", True), ("172.31.255.254", "10.0.0.9", True),
    ("172.17.0.2", "172.17.5.5", False),  # the bridge itself is on that network
    ("172.32.0.1", "192.168.1.50", False), ("192.168.1.20", "192.168.1.50", False), ("nonsense", "x", False),
])
def test_docker_network_detection(address: str, bridge: str, suspect: bool) -> None:
    assert docker_network_suspect(address, bridge) is suspect


def test_callback_url() -> None:
    assert callback_url(None, "127.0.0.1", 8080, 8321, "5") == "http://127.0.0.1:8321/callback/5"
    assert callback_url("http://10.1.1.1:9000/", "127.0.0.1", 8080, 8321, "5") == "http://10.1.1.1:9000/callback/5"
