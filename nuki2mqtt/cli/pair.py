"""`nuki2mqtt pair`: get the bridge's API token by its button, and write it into the config."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.cli import EXIT_FATAL, EXIT_OK
from nuki2mqtt.cli.args import port, seconds
from nuki2mqtt.config import resolve_config_path
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, TokenMode
from nuki2mqtt.onboarding.clock import format_skew, skew_level
from nuki2mqtt.onboarding.config_edit import (
    ADDED,
    CREATED,
    FROM_ENV,
    UNCHANGED,
    ConfigEditError,
    TokenEdit,
    write_token,
)
from nuki2mqtt.onboarding.countdown import Countdown
from nuki2mqtt.onboarding.pairing import AUTH_WINDOW, request_token
from nuki2mqtt.onboarding.probe import BridgeProbe, probe_bridge

DEFAULT_TIMEOUT = 90.0

_EPILOG = """\
The bridge hands out its token only while its button is pressed: after /auth it
waits 30 s. When nobody presses it in time, pair asks again until --timeout.
The token is printed (you asked for it) and, with --write-config PATH or when you
answer yes at the prompt, written into that file's bridges: entry for this host
(added if missing; the file is created if missing). Comments and layout stay.

exit status: 0 paired, 1 not paired (no press in time, API disabled, unreachable)
or the file could not be written."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pair",
        help="get a bridge's API token by pressing its button",
        description="Ask a Nuki Bridge for its API token (/auth), guide the button press with a countdown, "
        "print the token and optionally write it into the configuration file.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", required=True, help="the bridge's IP address or host name (see nuki2mqtt discover)")
    p.add_argument("--port", type=port, default=DEFAULT_BRIDGE_PORT, help="the bridge's HTTP API port (default: 8080)")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"give up after S seconds in all (default: {DEFAULT_TIMEOUT:g}); each /auth waits 30 s")
    p.add_argument("--write-config", metavar="PATH",
                   help="write the token into this configuration file (without it, a terminal asks)")
    p.add_argument("--token-mode", choices=[m.value for m in TokenMode], default=TokenMode.ENCRYPTED.value,
                   help="token_mode for a new bridges: entry and for checking the token (default: encrypted)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    where = f"{args.host}:{args.port}"
    print(f"Asking the bridge at {where} for its API token.")
    print(f"Press the button on the bridge now; it waits {AUTH_WINDOW:.0f} s for the press.")
    countdown = Countdown(sys.stdout, "Waiting for the button")
    with BridgeClient(args.host, args.port, timeout=5.0) as client:
        try:
            outcome = request_token(client, args.timeout, countdown)
        except KeyboardInterrupt:
            countdown.end()
            print("nuki2mqtt pair: cancelled, nothing was paired", file=sys.stderr)
            return EXIT_FATAL
    if outcome.token is None:
        print(f"nuki2mqtt pair: {outcome.reason}", file=sys.stderr)
        return EXIT_FATAL
    token = outcome.token
    print(f"\nPaired. The bridge's API token (keep it secret, it opens your doors):\n\n    {token}\n")
    mode = TokenMode(args.token_mode)
    print(_verification(probe_bridge(args.host, args.port, token, mode, timeout=5.0)))
    path = _target_file(args.write_config)
    if path is None:
        print("\nNext: put host and token into the bridges: section of your configuration "
              "(or run again with --write-config PATH), then: nuki2mqtt check-config --online")
        return EXIT_OK
    try:
        edit = write_token(path, args.host, args.port, token, mode)
    except ConfigEditError as exc:
        print(f"nuki2mqtt pair: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(_written(edit, where))
    print(f"\nNext: nuki2mqtt check-config --online -c {edit.path}")
    return EXIT_OK


def _verification(probe: BridgeProbe) -> str:
    """One line: does the new token work in the chosen mode, and are the clocks close enough?"""
    mode = probe.token_mode.value if probe.token_mode else "?"
    if probe.token_accepted:
        what = f"{probe.bridge_type or 'unknown'} bridge"
        if probe.info is not None:
            what += f" {probe.info.server_id}"
        if probe.firmware:
            what += f", firmware {probe.firmware}"
        line = f"Checked: the bridge accepts the token in {mode} mode ({what})."
        if probe.skew is not None and skew_level(probe.skew) != "ok":
            line += (f"\nWarning: the bridge's clock is {format_skew(probe.skew)} off this machine's; "
                     "encrypted and hashed tokens stop working beyond 60 s: sync this machine's clock (NTP).")
        return line
    if probe.token_accepted is False:
        return (f"Warning: the bridge refused the new token in {mode} mode (401). The token is right, so "
                "the clocks probably differ by more than 60 s: sync this machine's clock (NTP), or use "
                "token_mode: plain.")
    return f"Warning: could not check the token: {probe.error}."


def _target_file(option: str | None) -> Path | None:
    """--write-config, else on a terminal the answer to a question, else nowhere."""
    if option:
        return Path(option).expanduser()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    default = resolve_config_path(None)
    try:
        answer = input(f"Write the token into {default}? [y/N] ").strip().lower()
    except EOFError:
        return None
    return default if answer in ("y", "yes") else None


def _written(edit: TokenEdit, where: str) -> str:
    entry = f"bridges.{edit.index}"
    if edit.action == FROM_ENV:
        return (f"{entry} ({where}) in {edit.path} takes its token from ${{{edit.env_var}}}, so the file was "
                f"left alone: set {edit.env_var} to the token (for Docker, in the .env file).")
    if edit.action == UNCHANGED:
        return f"{edit.path} already has this token in {entry} ({where})."
    if edit.action == CREATED:
        done = f"Created {edit.path} with {entry} for {where}."
    elif edit.action == ADDED:
        done = f"Added {entry} for {where} to {edit.path}; the rest of the file is unchanged."
    else:
        done = f"Updated the token of {entry} ({where}) in {edit.path}; the rest of the file is unchanged."
    return (done + "\nThe token is now in that file as plain text: keep the file private, or move the token "
            "into an environment variable (token: ${NUKI_BRIDGE_TOKEN}).")
