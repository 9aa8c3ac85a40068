"""`nuki2mqtt discover`: list the bridges on this network and probe each one."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from nuki2mqtt.bridge import discover_bridges
from nuki2mqtt.bridge.errors import (
    BridgeConnectionError,
    BridgeError,
    BridgeTimeoutError,
)
from nuki2mqtt.bridge.models import DiscoveredBridge
from nuki2mqtt.cli import EXIT_FATAL, EXIT_OK
from nuki2mqtt.cli.args import http_url, port, seconds
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, DEFAULT_DISCOVERY_URL, TokenMode
from nuki2mqtt.logs import SecretFilter
from nuki2mqtt.onboarding.discovery_report import (
    HEADERS,
    NO_BRIDGES,
    Found,
    next_steps,
    notes,
    row,
)
from nuki2mqtt.onboarding.probe import probe_bridge
from nuki2mqtt.onboarding.table import format_table

ENV_TOKEN = "NUKI_BRIDGE_TOKEN"

_EPILOG = f"""\
Without a token a bridge only shows that it is there: every bridge answers an
unauthenticated request (with 401). With the token (--token or ${ENV_TOKEN}) the
probe reads /info: bridge type, firmware and the bridge's clock. The clock matters:
encrypted and hashed tokens are refused when the clocks differ by more than 60 s.
With --token-mode encrypted (the default) a skewed clock looks like a wrong token;
--token-mode plain reads the clock either way, but sends the token unencrypted.

exit status: 0 when at least one bridge was listed (with --host: when it answers),
1 when none was found or the discovery URL could not be read."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "discover",
        help="list the bridges on this network and probe each one",
        description="List the bridges that Nuki's discovery URL knows for this network and probe each one: "
        "reachable, bridge type, firmware and the clock difference to this machine.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", type=http_url, default=DEFAULT_DISCOVERY_URL, help=f"discovery URL (default: {DEFAULT_DISCOVERY_URL})")
    p.add_argument("--host", help="probe this bridge address instead of asking the discovery URL")
    p.add_argument("--port", type=port, default=DEFAULT_BRIDGE_PORT, help="port for --host (default: 8080)")
    p.add_argument(
        "--token",
        default=None,
        help=f"the bridge token, to read type, firmware and clock (default: ${ENV_TOKEN} if set)",
    )
    p.add_argument(
        "--token-mode",
        choices=[m.value for m in TokenMode],
        default=TokenMode.ENCRYPTED.value,
        help="how the token is sent (default: encrypted)",
    )
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="S",
                   help="seconds to wait for the discovery URL and for each bridge (default: 5)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(ENV_TOKEN) or None
    if args.debug and token:
        for handler in logging.getLogger().handlers:
            handler.addFilter(SecretFilter([token]))
    if args.host:
        probe = probe_bridge(args.host, args.port, token, args.token_mode, timeout=args.timeout)
        found = [Found(None, probe)]
        print(f"Bridge at {probe.address}:")
        code = EXIT_OK if probe.reachable else EXIT_FATAL
    else:
        try:
            entries = discover_bridges(args.url, timeout=args.timeout)
        except BridgeError as exc:
            print(f"nuki2mqtt discover: {_discovery_error(args.url, exc)}", file=sys.stderr)
            return EXIT_FATAL
        if not entries:
            print(NO_BRIDGES)
            return EXIT_FATAL
        print(f"{len(entries)} bridge(s) listed by {args.url}:")
        code = EXIT_OK
        found = [_probe_entry(entry, token, args.token_mode, args.timeout) for entry in entries]
    print()
    for line in format_table(HEADERS, [row(item) for item in found]):
        print(line)
    explanations = notes(found, token_given=bool(token))
    if explanations:
        print()
        for line in explanations:
            print(f"- {line}")
    steps = next_steps(found, token_given=bool(token))
    if steps:
        print()
        print("Next: " + "\n      ".join(steps))
    return code


def _probe_entry(entry: DiscoveredBridge, token: str | None, token_mode: str, timeout: float) -> Found:
    item = Found(entry, None)
    if item.discovery_disabled:
        return item
    return Found(entry, probe_bridge(entry.ip, entry.port, token, token_mode, timeout=timeout))


def _discovery_error(url: str, exc: BridgeError) -> str:
    """One line about the discovery URL; the client's own hints speak of bridges, not of it."""
    if isinstance(exc, BridgeConnectionError):
        reason = exc.detail or "connection failed"
        return (f"cannot reach the discovery URL {url}: {reason}; check this machine's internet connection "
                "(or give the bridge's address with --host IP)")
    if isinstance(exc, BridgeTimeoutError):
        return f"the discovery URL {url} did not answer in time; try again, or a longer --timeout"
    detail = f" ({exc.detail})" if exc.detail else ""
    status = f"HTTP {exc.status}" if exc.status else "an unexpected answer"
    return f"the discovery URL {url} answered with {status}{detail}; try again later, or use --host IP"
