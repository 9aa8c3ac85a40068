"""nuki2mqtt benchmark: one command, JSON out.

    python bench/run.py [--commands 200] [--changes 200] [--burst 100]

Runs a real broker (mosquitto, else amqtt), the bridge simulator in this process and
the gateway as a separate process (``nuki2mqtt run``), then measures:
- command latency: MQTT publish on ``set`` -> the simulator receives /lockAction;
- callback latency: the simulator POSTs a callback -> a subscriber has the new state;
- burst: N commands over 3 devices against a strict simulator with 20 ms service time:
  wall time / (N x 20 ms), the number of 503s and of ``ok`` results;
- the gateway's resident memory after the burst.
Targets (issue 3): both p99 < 5 ms, burst ratio < 1.10 with zero 503s and N ok, RSS < 60 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nuki2mqtt.broker import LocalBroker, free_port  # noqa: E402
from nuki2mqtt.const import LockState  # noqa: E402
from nuki2mqtt.simulator import BridgeSimulator  # noqa: E402
from tests.mqtt_recorder import MqttRecorder  # noqa: E402

TOKEN = "benchtoken0123456"
BASE = "bench"
GATEWAY_CMD = ["-m", "nuki2mqtt"]
CALLBACKS = True
DEVICES = ["1A2B3C4D", "2B3C4D5E", "3C4D5E6F"]
ACTIONS = {"1A2B3C4D": ("unlock", "lock"), "2B3C4D5E": ("unlock", "lock"),
           "3C4D5E6F": ("activate_rto", "deactivate_rto")}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
            "max_ms": round(max(ms), 3), "mean_ms": round(statistics.fmean(ms), 3)}


class GatewayProcess:
    def __init__(self, broker: LocalBroker, sim: BridgeSimulator, workdir: Path) -> None:
        self.listen_port = free_port()
        config = workdir / "config.yaml"
        config.write_text(json.dumps({
            "mqtt": {"host": broker.host, "port": broker.port, "base_topic": BASE, "client_id": "bench-gw"},
            "homeassistant": {"enabled": False},
            "bridges": [{"host": sim.host, "port": sim.port, "token": TOKEN, "token_mode": "encrypted",
                         "poll_interval": 0, "callbacks": CALLBACKS}],
            "server": {"host": "127.0.0.1", "port": self.listen_port},
            "log_level": "warning",
        }))
        self.proc = subprocess.Popen([sys.executable, *GATEWAY_CMD, "run", "-c", str(config)], cwd=ROOT)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)


def wait_ready(rec: MqttRecorder, sim: BridgeSimulator) -> None:
    for device in DEVICES:
        rec.wait_for(f"{BASE}/{device}/state", timeout=20)
    deadline = time.monotonic() + 10
    while not sim.callback_urls and time.monotonic() < deadline:
        time.sleep(0.05)
    if not sim.callback_urls:
        raise RuntimeError("the gateway registered no callback")


def command_latency(rec: MqttRecorder, sim: BridgeSimulator, count: int) -> dict[str, float]:
    arrived: dict[int, float] = {}
    seq = {"n": 0}
    done = threading.Event()

    def on_request(record: Any) -> None:
        if record.path == "/lockAction":
            arrived[seq["n"]] = record.received_at
            done.set()

    sim.on_request = on_request
    samples = []
    for i in range(count):
        device = DEVICES[i % 2]  # the two locks
        action = ACTIONS[device][(i // 2) % 2]
        seq["n"] = i
        done.clear()
        mark = rec.mark()
        start = time.perf_counter()
        rec.publish(f"{BASE}/{device}/set", action)
        if not done.wait(5):
            raise RuntimeError(f"command {i} never reached the simulator")
        samples.append(arrived[i] - start)
        rec.wait_for(f"{BASE}/{device}/result", after=mark, timeout=10)
    sim.on_request = None
    return summary_ms(samples)


def callback_latency(rec: MqttRecorder, sim: BridgeSimulator, count: int) -> dict[str, float]:
    sent: dict[str, float] = {}

    def on_sent(url: str, body: dict[str, Any], at: float) -> None:
        sent[body.get("stateName", "")] = at

    sim.on_callback_sent = on_sent
    samples = []
    device_id, nuki_id = DEVICES[1], 0x2B3C4D5E
    current = rec.wait_for(f"{BASE}/{device_id}/state").json["state"]
    for _ in range(count):
        target = LockState.LOCKED if current != "locked" else LockState.UNLOCKED
        mark = rec.mark()
        sent.clear()
        sim.set_lock_state(nuki_id, target)
        message = rec.wait_for(f"{BASE}/{device_id}/state",
                               lambda m, label=target.label: m.json["state"] == label, after=mark, timeout=5)
        sent_at = next(iter(sent.values()), None)
        if sent_at is None:
            raise RuntimeError("the simulator reported no callback")
        samples.append(message.at - sent_at)
        current = target.label
    sim.on_callback_sent = None
    return summary_ms(samples)


def burst(broker: LocalBroker, sim: BridgeSimulator, count: int, service: float) -> dict[str, Any]:
    """A client of its own that hears only results: the bench must not compete with the simulator."""
    rec = MqttRecorder(broker.host, broker.port)
    rec.subscribe(f"{BASE}/+/result")
    sim.set_service_delay(service)
    sim.set_action_duration(0.0)
    rejections_before = sim.busy_rejections
    mark = rec.mark()
    start = time.perf_counter()
    for i in range(count):
        device = DEVICES[i % 3]
        rec.publish(f"{BASE}/{device}/set", ACTIONS[device][(i // 3) % 2])
    deadline = time.monotonic() + 60
    while True:
        results = rec.messages()[mark:]
        if len(results) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.002)
    wall = (results[-1].at if results else time.perf_counter()) - start
    sim.set_service_delay(0.0)
    rec.close()
    ok = sum(1 for m in results if m.json["status"] == "ok")
    http_503 = sum(1 for r in sim.requests if r.status == 503)
    return {"commands": count, "service_ms": service * 1000, "wall_s": round(wall, 4),
            "ratio": round(wall / (count * service), 4), "busy_503": sim.busy_rejections - rejections_before,
            "http_503_total": http_503, "ok": ok, "results": len(results)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--service-ms", type=float, default=20.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, LocalBroker() as broker, \
            BridgeSimulator(host="127.0.0.1", port=0, token=TOKEN, action_duration=0.0, strict=True) as sim:
        gateway = GatewayProcess(broker, sim, Path(tmp))
        rec = MqttRecorder(broker.host, broker.port)
        try:
            rec.subscribe(f"{BASE}/#")
            wait_ready(rec, sim)
            result: dict[str, Any] = {"broker": broker.kind, "cpus": os.cpu_count()}
            result["command_latency"] = command_latency(rec, sim, args.commands)
            result["callback_latency"] = callback_latency(rec, sim, args.changes)
            rec.unsubscribe(f"{BASE}/#")  # the burst's own client hears only results
            result["burst"] = burst(broker, sim, args.burst, args.service_ms / 1000)
            time.sleep(0.5)
            result["gateway_rss_mb"] = gateway.rss_mb()
        finally:
            rec.close()
            exit_code = gateway.stop()
        result["gateway_exit_code"] = exit_code
        b = result["burst"]
        result["targets"] = {
            "command_p99_under_5ms": result["command_latency"]["p99_ms"] < 5,
            "callback_p99_under_5ms": result["callback_latency"]["p99_ms"] < 5,
            "burst_ratio_under_1.10": b["ratio"] < 1.10,
            "burst_zero_503": b["busy_503"] == 0 and b["http_503_total"] == 0,
            "burst_all_ok": b["ok"] == b["commands"],
            "rss_under_60mb": result["gateway_rss_mb"] < 60,
        }
        result["all_targets_met"] = all(result["targets"].values())
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
