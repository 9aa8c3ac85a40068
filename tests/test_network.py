"""Address helpers behind the callback URL and the callback source check."""
from __future__ import annotations

import pytest

from nuki2mqtt.network import is_private_bridge_network, local_address_for, normalize_address, resolve_addresses


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


@pytest.mark.parametrize(("address", "docker"), [
    ("172.17.0.2", True), ("172.31.255.254", True), ("172.32.0.1", False),
    ("192.168.1.20", False), ("10.0.0.3", False), ("fe80::1", False), ("nonsense", False),
])
def test_docker_network_detection(address: str, docker: bool) -> None:
    assert is_private_bridge_network(address) is docker
