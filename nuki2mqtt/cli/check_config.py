"""`nuki2mqtt check-config`: validate the configuration and list every problem at once;
with ``--online`` also try the broker and each bridge from this machine."""
from __future__ import annotations

import argparse
import logging
import sys

from nuki2mqtt.cli import EXIT_FATAL, EXIT_OK, EXIT_USAGE
from nuki2mqtt.cli.args import seconds
from nuki2mqtt.config import (
    ENV_CONFIG_PATH,
    Config,
    ConfigError,
    load_config,
    resolve_config_path,
)

_EPILOG = """\
--online checks, one line each (ok, warn or failed, and a fix):
  mqtt                     the broker accepts a connection with the configured login
                           (MQTT 5, else 3.1.1; a separate client id, nothing published)
  server.port              the callback listener's port is free, or a gateway already uses it
  bridges.N                the bridge answers
  bridges.N.token          /info accepts the token in its token_mode
  bridges.N.clock          the bridge's clock vs. this machine's (warn > 30 s; hashed and
                           encrypted tokens fail > 60 s)
  bridges.N.callbacks      how many of the 3 callback slots are used, ours among them?
  bridges.N callback URL   the URL the bridge will call: an address of this machine, not a
                           Docker bridge-network address (a bridge cannot be made to call
                           it without a lock state change: the gateway's log shows the first)

exit status: 0 valid (and with --online: no check failed; warnings are fine),
2 invalid configuration, 1 an online check failed."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate the configuration file (--online: also reach the broker and bridges)",
        description="Validate the configuration file and print every error with its key path. "
        "With --online also connect to the MQTT broker and to each bridge and report each check.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        help=f"configuration file (default: ${ENV_CONFIG_PATH}, else ./config.yaml)",
    )
    p.add_argument("--online", action="store_true",
                   help="also connect to the broker and each bridge: login, token, clock, callbacks")
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="S",
                   help="seconds to wait for the broker and for each bridge with --online (default: 5)")
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
    if not args.online:
        return EXIT_OK
    return _online(config, args.timeout, debug=args.debug)


def _online(config: Config, timeout: float, *, debug: bool) -> int:
    from nuki2mqtt.cli.run import config_secrets
    from nuki2mqtt.logs import SecretFilter
    from nuki2mqtt.onboarding.online_checks import FAILED, WARN, run_online_checks

    if debug:
        for handler in logging.getLogger().handlers:
            handler.addFilter(SecretFilter(config_secrets(config)))
    results = []
    for result in run_online_checks(config, timeout):
        results.append(result)
        print(result.line(), flush=True)
    failed = sum(r.status == FAILED for r in results)
    warned = sum(r.status == WARN for r in results)
    warnings = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
    if failed:
        print(f"{failed} of {len(results)} online checks failed{warnings}.")
        return EXIT_FATAL
    print(f"All {len(results)} online checks passed{warnings}.")
    return EXIT_OK


def summary(config: Config) -> str:
    """What the gateway will talk to, in one phrase."""
    web = "yes" if config.web is not None else "no"
    discovery = "on" if config.homeassistant.enabled else "off"
    return f"{len(config.bridges)} bridge(s), web: {web}, Home Assistant discovery: {discovery}"
