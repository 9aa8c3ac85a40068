"""`nuki2mqtt simulate`: run the built-in Nuki Bridge simulator until Ctrl-C or SIGTERM."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from nuki2mqtt.cli.args import delay, port_or_zero
from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, BridgeType

#: The token used when none is given; printed at start because it is a demo, not a secret.
DEMO_TOKEN = "nuki2mqttdemo"
EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2

_CONTROL_HELP = (
    "control endpoints (no token; not subject to the one-request-at-a-time rule):\n"
    "  POST /_sim/button                      press the bridge button (completes a waiting /auth)\n"
    "  POST /_sim/ring?nukiId=N               ring the opener's doorbell\n"
    "  POST /_sim/door?nukiId=N&state=S       door sensor: door_opened, door_closed, ...\n"
    "  POST /_sim/lockstate?nukiId=N&state=S  external state change: locked, unlocked, rto_active, ...\n"
    "  POST /_sim/battery?nukiId=N&charge=P&critical=0|1&charging=0|1&keypadCritical=0|1\n"
    "  GET  /_sim/state                       JSON of the bridge and all devices"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="run the built-in simulated Nuki Bridge",
        description=(
            "Run a simulated Nuki Bridge that serves the Bridge HTTP API v1.13.3: one request at\n"
            "a time, transitional lock states, callbacks, plain/hashed/encrypted tokens.\n"
            "Runs until Ctrl-C or SIGTERM (exit status 0)."
        ),
        epilog=_CONTROL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on and send callbacks from (default: 127.0.0.1)")
    p.add_argument(
        "--port", type=port_or_zero, default=DEFAULT_BRIDGE_PORT, help="port to listen on; 0 picks a free one (default: 8080)"
    )
    p.add_argument(
        "--token",
        default=None,
        help=f"the bridge's API token (default: the demo token '{DEMO_TOKEN}', printed at start)",
    )
    p.add_argument(
        "--devices",
        metavar="FILE",
        default=None,
        help="YAML or JSON file of simulated devices (default: Front door, Back door, Community door; "
        "see simulator/devices.example.yaml)",
    )
    p.add_argument(
        "--web", action="store_true", help="also run the simulated Nuki Web API (not available yet: exits with 2)"
    )
    p.add_argument(
        "--software",
        action="store_true",
        help="simulate a software bridge (/unpair and the maintenance endpoints answer 404)",
    )
    p.add_argument(
        "--service-delay",
        type=delay,
        default=0.0,
        metavar="S",
        help="seconds every bridge request takes to serve while it holds the one-request slot (default: 0)",
    )
    p.add_argument(
        "--action-duration",
        type=delay,
        default=1.0,
        metavar="S",
        help="seconds each transitional state of a lock action lasts, e.g. 'unlocking' (default: 1.0)",
    )
    p.add_argument(
        "--no-strict",
        action="store_true",
        help="queue concurrent requests instead of answering 503 at once (a real bridge is strict)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.web:
        print(
            "nuki2mqtt simulate: --web: the Web API simulator is not available yet; run without --web",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # Imported here so `nuki2mqtt --help` stays fast and independent of the simulator.
    from nuki2mqtt.simulator import BridgeSimulator, DeviceFileError, load_devices

    devices = None
    if args.devices:
        try:
            devices = load_devices(args.devices)
        except DeviceFileError as exc:
            print(f"nuki2mqtt simulate: --devices: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print("nuki2mqtt simulate: --port must be 0..65535", file=sys.stderr)
        return EXIT_USAGE
    sim = BridgeSimulator(
        host=args.host,
        port=args.port,
        token=args.token or DEMO_TOKEN,
        devices=devices,
        bridge_type=BridgeType.SOFTWARE if args.software else BridgeType.HARDWARE,
        service_delay=args.service_delay,
        action_duration=args.action_duration,
        strict=not args.no_strict,
    )
    try:
        sim.start()
    except OSError as exc:
        print(f"nuki2mqtt simulate: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        sim.stop()
        return EXIT_FATAL
    stop = threading.Event()
    restore = _on_sigterm(stop)
    try:
        _print_banner(sim, demo_token=args.token is None)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        sim.stop()
        print("simulator stopped", flush=True)
    return EXIT_OK


def _on_sigterm(stop: threading.Event) -> Any:
    """SIGTERM ends the loop like Ctrl-C; returns the function that restores the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _print_banner(sim: Any, demo_token: bool) -> None:
    from nuki2mqtt.simulator.devices import state_name

    kind = "software" if sim.bridge_type is BridgeType.SOFTWARE else "hardware"
    lines = [
        f"Nuki Bridge simulator ({kind} bridge, firmware {sim.firmware_version}, serverId {sim.server_id})",
        f"url:    {sim.url}",
        f"token:  {sim.token}  (demo token; set your own with --token)"
        if demo_token
        else "token:  as given with --token",
        f"mode:   {'strict (a concurrent request gets 503)' if sim.strict else 'queueing (--no-strict)'}",
        "devices:",
    ]
    for d in sim.devices:
        sensor = "" if d.door_sensor is None else ", door sensor"
        keypad = ", keypad" if d.has_keypad else ""
        lines.append(
            f"  {d.device_id}  nukiId {d.nuki_id:<10}  {d.device_type.label:<10}  {d.name!r}: "
            f"{state_name(d.device_type, d.state)}{sensor}{keypad}"
        )
    lines.append(_CONTROL_HELP.replace("  POST /", f"  POST {sim.url}/").replace("  GET  /", f"  GET  {sim.url}/"))
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
