"""``nuki2mqtt run``: the gateway, until SIGINT/SIGTERM."""
from __future__ import annotations

import argparse
import signal
import threading
from typing import TYPE_CHECKING

from nuki2mqtt.cli import EXIT_OK, UsageError

if TYPE_CHECKING:
    from nuki2mqtt.config import Config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the gateway", description="Run the gateway until SIGINT or SIGTERM.")
    p.add_argument("-c", "--config", metavar="PATH",
                   help="configuration file (default: $NUKI2MQTT_CONFIG, else ./config.yaml)")
    p.set_defaults(func=_run)


def config_secrets(config: "Config") -> list[str | None]:
    """Every secret in a configuration, for the log filter."""
    secrets: list[str | None] = [config.mqtt.password, *(b.token for b in config.bridges)]
    web = config.web
    if web is not None:
        secrets.append(web.api_token)
        if web.oauth is not None:
            secrets += [web.oauth.client_secret, web.oauth.refresh_token]
        if web.webhook is not None:
            secrets.append(web.webhook.secret)
    return secrets


def stop_on_signal() -> threading.Event:
    """An event set by SIGINT or SIGTERM (docker stop); installed before anything starts."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def wait_for(stop: threading.Event) -> None:
    # Short waits keep the main thread responsive to signals on every platform.
    while not stop.wait(1.0):
        pass


def _run(args: argparse.Namespace) -> int:
    from nuki2mqtt.config import ConfigError, load_config, resolve_config_path
    from nuki2mqtt.gateway import Gateway
    from nuki2mqtt.logs import setup_logging

    path = resolve_config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise UsageError(f"invalid configuration {path}:\n" + str(exc)) from None
    setup_logging(config.log_level, config_secrets(config), debug=args.debug)
    stop = stop_on_signal()
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_for(stop)
    finally:
        gateway.stop()
    return EXIT_OK
