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


#: Docker's default address pool for bridge networks (docker0 is 172.17.0.0/16).
DOCKER_POOL = ipaddress.ip_network("172.16.0.0/12")
CALLBACK_PATH = "/callback/"


def callback_url(advertise_url: str | None, bridge_host: str, bridge_port: int, listen_port: int,
                 bridge_id: str) -> str:
    """The URL the gateway registers on a bridge: ``advertise_url`` if set, else the address the
    route to the bridge leaves from. Raises OSError when there is no route."""
    path = f"{CALLBACK_PATH}{bridge_id}"
    if advertise_url:
        return advertise_url.rstrip("/") + path
    address = local_address_for(bridge_host, bridge_port)
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{listen_port}{path}"


def docker_network_suspect(address: str, bridge_host: str) -> bool:
    """An address in Docker's bridge pool while the bridge is outside that /16: the bridge cannot route to it."""
    try:
        ours = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ours.version != 4 or ours not in DOCKER_POOL:
        return False
    for candidate in (bridge_host, *resolve_addresses(bridge_host)):
        try:
            theirs = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if theirs.version == 4 and theirs in ipaddress.ip_network(f"{ours}/16", strict=False):
            return False
    return True
