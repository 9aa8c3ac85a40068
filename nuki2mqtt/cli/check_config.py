"""`nuki2mqtt check-config`: validate the configuration and list every problem at once."""
from __future__ import annotations

import argparse
import sys

from nuki2mqtt.cli import EXIT_OK, EXIT_USAGE
from nuki2mqtt.config import ENV_CONFIG_PATH, Config, ConfigError, load_config, resolve_config_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate the configuration file",
        description="Validate the configuration file and print every error with its key path.",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        help=f"configuration file (default: ${ENV_CONFIG_PATH}, else ./config.yaml)",
    )
    p.add_argument("--online", action="store_true", help="also reach the broker and bridges (not available yet)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    print(f"config OK: {path} ({summary(config)})")
    if args.online:
        print("check-config --online: not available yet", file=sys.stderr)
    return EXIT_OK


def summary(config: Config) -> str:
    """What the gateway will talk to, in one phrase."""
    web = "yes" if config.web is not None else "no"
    discovery = "on" if config.homeassistant.enabled else "off"
    return f"{len(config.bridges)} bridge(s), web: {web}, Home Assistant discovery: {discovery}"
