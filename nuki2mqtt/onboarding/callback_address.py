"""Where a bridge would call the gateway back, and whether that can work from here.

Nobody can make a bridge call a URL without registering it and changing a lock's
state, so the check is about what this machine can know: the URL's address is one of
its own (or forwarded to it), the listener port can be bound, and the address is
not a Docker bridge-network address that the LAN cannot route to.
"""
from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from nuki2mqtt import network
from nuki2mqtt.config import ServerConfig
from nuki2mqtt.network import docker_network_suspect

__all__ = ["callback_url", "docker_network_suspect", "is_local_address", "port_in_use", "resolve", "url_host_port"]



def callback_url(server: ServerConfig, bridge_host: str, bridge_port: int, bridge_id: str) -> str:
    """The URL the gateway registers on this bridge, computed as the gateway does. Raises OSError without a route."""
    return network.callback_url(server.advertise_url, bridge_host, bridge_port, server.port, bridge_id)


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
    return sorted(network.resolve_addresses(host))


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
