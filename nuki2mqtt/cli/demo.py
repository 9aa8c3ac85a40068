"""``nuki2mqtt demo``: simulated bridge + MQTT broker + gateway, no hardware, one command."""
from __future__ import annotations

import argparse
import logging
import socket
import sys

from nuki2mqtt.cli import EXIT_OK
from nuki2mqtt.cli.args import port
from nuki2mqtt.cli.simulate import DEMO_TOKEN


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run a simulated bridge, an MQTT broker and the gateway (no hardware needed)",
        description="Starts the built-in bridge simulator (a Smart Lock 3.0 Pro, a Smart Lock 2.0 and an Opener), "
        "an MQTT broker (mosquitto from PATH, else the embedded amqtt broker) and the gateway, all on "
        "this machine. Ctrl-C stops everything.",
    )
    p.add_argument("--mqtt-port", type=port, default=1883, help="broker port, if free (default 1883, else any free port)")
    p.add_argument("--bridge-port", type=port, default=8080, help="simulated bridge port, if free (default 8080)")
    p.add_argument("--listen-port", type=port, default=8321, help="gateway HTTP listener port, if free (default 8321)")
    p.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default="auto",
                   help="MQTT broker to start: mosquitto from PATH, the embedded pure-Python amqtt "
                        "(MQTT 3.1.1 only), or auto: mosquitto where installed, else amqtt (default)")
    p.set_defaults(func=_run)


def _port_or_free(preferred: int) -> int:
    from nuki2mqtt.broker import free_port

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def _run(args: argparse.Namespace) -> int:
    from nuki2mqtt.broker import LocalBroker
    from nuki2mqtt.cli.run import stop_on_signal, wait_for
    from nuki2mqtt.config import parse_config
    from nuki2mqtt.gateway import Gateway
    from nuki2mqtt.logs import setup_logging
    from nuki2mqtt.simulator import BridgeSimulator

    setup_logging("info", [DEMO_TOKEN], debug=args.debug)
    if not args.debug:
        # The embedded amqtt broker (where mosquitto is missing) logs every connection and
        # state-machine step at INFO, and the port probe as an ERROR: noise in a demo.
        logging.getLogger("amqtt").setLevel(logging.CRITICAL)
        logging.getLogger("transitions").setLevel(logging.WARNING)
    stop = stop_on_signal()
    broker = LocalBroker(port=_port_or_free(args.mqtt_port), prefer=args.broker).start()
    sim = BridgeSimulator(host="127.0.0.1", port=_port_or_free(args.bridge_port), token=DEMO_TOKEN,
                          action_duration=1.0).start()
    listen_port = _port_or_free(args.listen_port)
    config = parse_config(
        {
            "mqtt": {"host": broker.host, "port": broker.port, "protocol": broker.protocol},
            "bridges": [{"host": sim.host, "port": sim.port, "token": DEMO_TOKEN, "token_mode": "encrypted"}],
            "server": {"host": "127.0.0.1", "port": listen_port},
        },
        env={},
    )
    gateway = Gateway(config)
    gateway.start()
    base = config.mqtt.base_topic
    mq = f"-h {broker.host} -p {broker.port}"
    print(
        f"""
nuki2mqtt demo is running. Press Ctrl-C to stop.

  MQTT broker        {broker.kind} on {broker.host}:{broker.port}
  simulated bridge   {sim.url}  (Front door 1A2B3C4D, Back door 2B3C4D5E, Community door 3C4D5E6F)
  gateway listener   http://127.0.0.1:{listen_port}/health

Watch everything:
  mosquitto_sub {mq} -t '{base}/#' -t 'homeassistant/#' -v
Unlock the front door, then lock it again:
  mosquitto_pub {mq} -t {base}/1A2B3C4D/set -m unlock
  mosquitto_pub {mq} -t {base}/1A2B3C4D/set -m '{{"action": "lock", "id": "try-1"}}'
Ring the opener's doorbell, or open the front door:
  curl -X POST '{sim.url}/_sim/ring?nukiId={0x3C4D5E6F}'
  curl -X POST '{sim.url}/_sim/door?nukiId={0x1A2B3C4D}&state=3'
Ask the bridge for its info:
  mosquitto_pub {mq} -t {base}/request/bridge_info -m '{{"transaction": 1}}'
""",
        flush=True,
    )
    try:
        wait_for(stop)
    finally:
        print("stopping...", file=sys.stderr, flush=True)
        gateway.stop()
        sim.stop()
        broker.close()
    return EXIT_OK
