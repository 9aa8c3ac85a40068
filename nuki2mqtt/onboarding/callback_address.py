"""Where a bridge would call the gateway back, and whether that can work from here.

Nobody can make a bridge call a URL without registering it and changing a lock's
state, so the check is about what this machine can know: the URL's address is one of
its own (or forwarded to it), the listener port can be bound, and the address is
not a Docker bridge-network address that the LAN cannot route to.
"""
from __future__ import annotations

import errno
import ipaddress
import socket
from urllib.parse import urlsplit

from nuki2mqtt.config import ServerConfig
from nuki2mqtt.network import local_address_for

CALLBACK_PATH = "/callback/"
#: Docker's default address pool for bridge networks (docker0 is 172.17.0.0/16).
DOCKER_POOL = ipaddress.ip_network("172.16.0.0/12")


def callback_url(server: ServerConfig, bridge_host: str, bridge_port: int, bridge_id: str) -> str:
    """The URL the gateway registers on this bridge (as the gateway computes it). Raises OSError without a route."""
    path = f"{CALLBACK_PATH}{bridge_id}"
    if server.advertise_url:
        return server.advertise_url.rstrip("/") + path
    address = local_address_for(bridge_host, bridge_port)
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{server.port}{path}"


def url_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 80


def is_local_address(address: str) -> bool:
    """True if this machine owns ``address``: only then can a socket be bound to it."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def docker_network_suspect(address: str, bridge_host: str) -> bool:
    """An address in Docker's bridge pool while the bridge is outside that /16: the bridge cannot route to it."""
    try:
        ours = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ours.version != 4 or ours not in DOCKER_POOL:
        return False
    addresses = [bridge_host, *resolve(bridge_host)]
    for candidate in addresses:
        try:
            theirs = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if theirs.version == 4 and theirs in ipaddress.ip_network(f"{ours}/16", strict=False):
            return False
    return True


def port_in_use(host: str, port: int) -> bool | str:
    """False if ``host:port`` can be bound now, True if something listens there, else the OS reason."""
    bind_host = "" if host in ("0.0.0.0", "::") else host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the listener does: TIME_WAIT is no conflict
            sock.bind((bind_host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return True
        return exc.strerror or type(exc).__name__
    return False
