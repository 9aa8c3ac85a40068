"""Address helpers for the callback URL and the callback source check."""
from __future__ import annotations

import ipaddress
import os
import socket


def local_address_for(host: str, port: int) -> str:
    """The local IP address the route to ``host`` leaves from: what the bridge can call back.

    A UDP "connect" sends nothing; it only asks the kernel which interface it would use.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port or 9))
        return str(sock.getsockname()[0])


def resolve_addresses(host: str) -> frozenset[str]:
    """Every IP address ``host`` resolves to (itself when it is an address); empty if unresolvable."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return frozenset()
    return frozenset(str(info[4][0]) for info in infos)


def normalize_address(address: str) -> str:
    """``::ffff:192.168.1.5`` (an IPv4 client on a dual-stack socket) -> ``192.168.1.5``."""
    return address[7:] if address.startswith("::ffff:") else address


def in_container() -> bool:
    """True inside a Docker (or Podman) container."""
    return os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")


def is_private_bridge_network(address: str) -> bool:
    """Docker's default bridge networks live in 172.16.0.0/12; a LAN bridge cannot call those."""
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network("172.16.0.0/12")
    except ValueError:
        return False
