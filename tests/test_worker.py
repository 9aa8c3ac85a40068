"""The per-bridge worker on its own: a real client against the simulator, a recording listener."""
from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from nuki2mqtt.bridge import BridgeClient
from nuki2mqtt.bridge.models import BridgeInfo, DeviceEntry
from nuki2mqtt.commands import parse_command
from nuki2mqtt.const import TokenMode
from nuki2mqtt.simulator import BridgeSimulator
from nuki2mqtt.worker import Command, CommandResult, BridgeWorker

BACK_ID = 0x2B3C4D5E  # Smart Lock 2.0, device type 0
FRONT_ID = 0x1A2B3C4D


class Recorder:
    """A WorkerListener that records what the worker reports."""

    def __init__(self, callback_url: str | None = None) -> None:
        self.lists: list[tuple[float, str]] = []
        self.reachability: list[tuple[float, bool]] = []
        self.infos: list[BridgeInfo] = []
        self.setups = 0
        self._url = callback_url

    def on_info(self, worker: BridgeWorker, info: BridgeInfo) -> None:
        self.infos.append(info)

    def on_list(self, worker: BridgeWorker, entries: list[DeviceEntry], source: str,
                read_at: float | None = None) -> None:
        self.lists.append((time.monotonic(), source))

    def on_reachable(self, worker: BridgeWorker, reachable: bool) -> None:
        self.reachability.append((time.monotonic(), reachable))

    def callback_url(self, worker: BridgeWorker, info: BridgeInfo) -> str | None:
        return self._url

    def on_setup(self, worker: BridgeWorker) -> None:
        self.setups += 1


@pytest.fixture
def sim() -> Iterator[BridgeSimulator]:
    with BridgeSimulator(host="127.0.0.1", port=0, token="workertoken1", action_duration=0.02) as simulator:
        yield simulator


def make_worker(sim: BridgeSimulator, listener: Recorder, *, poll_interval: float = 0, callbacks: bool = False,
                action_timeout: float = 40.0) -> BridgeWorker:
    client = BridgeClient(sim.host, sim.port, "workertoken1", TokenMode.ENCRYPTED, action_timeout=action_timeout)
    worker = BridgeWorker("test", client, listener, poll_interval=poll_interval, callbacks=callbacks)
    worker.start()
    assert worker.ready.wait(10)
    return worker


class Results:
    def __init__(self) -> None:
        self.items: list[tuple[str, CommandResult]] = []
        self.cond = threading.Condition()

    def command(self, action: str, *, ttl: float = 30.0, nuki_id: int = BACK_ID, device_type: int = 0) -> Command:
        parsed = parse_command(action.encode(), is_opener=False)
        now = time.monotonic()

        def done(result: CommandResult) -> None:
            with self.cond:
                self.items.append((action, result))
                self.cond.notify_all()

        return Command(nuki_id, device_type, "Back door", parsed, now, now + ttl, done)  # type: ignore[arg-type]

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, CommandResult]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, timeout), self.items
            return list(self.items)


def paths(sim: BridgeSimulator, start: int = 0) -> list[str]:
    return [r.path for r in sim.requests[start:]]


def test_setup_reads_info_and_list_and_polls_on_its_interval(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener, poll_interval=0.2)
    try:
        time.sleep(1.1)
    finally:
        worker.stop()
    assert paths(sim)[:2] == ["/info", "/list"]
    polls = [t for t, source in listener.lists]
    assert 5 <= len(polls) <= 8
    assert "/lockState" not in paths(sim)


def test_no_timer_without_poll_interval(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener, poll_interval=0)
    time.sleep(0.6)
    worker.stop()
    assert paths(sim) == ["/info", "/list"]


def test_polls_coalesce_and_wait_behind_commands(sim: BridgeSimulator) -> None:
    listener = Recorder(callback_url="http://127.0.0.1:9/cb")  # registered, so no poll after each command
    worker = make_worker(sim, listener, callbacks=True)
    results = Results()
    start = len(sim.requests)
    sim.set_action_duration(0.15)
    worker.submit_command(results.command("unlock"))
    time.sleep(0.05)  # the first command is in flight
    for _ in range(10):
        worker.request_poll()
    worker.submit_command(results.command("lock"))
    worker.submit_command(results.command("unlock"))
    results.wait(3)
    time.sleep(0.3)
    worker.stop()
    assert paths(sim, start)[:4] == ["/lockAction", "/lockAction", "/lockAction", "/list"]
    assert paths(sim, start).count("/list") == 1
    assert sim.busy_rejections == 0


def test_door_opening_action_is_not_retried_after_a_timeout(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener, action_timeout=0.3)
    results = Results()
    sim.set_action_duration(0.5)  # longer than the client waits
    start = len(sim.requests)
    worker.submit_command(results.command("unlatch"))
    (_, result), = results.wait(1)
    time.sleep(1.5)  # long enough for any retry to have happened
    worker.stop()
    assert result.status == "error" and result.attempts == 1
    assert "timed out" in result.error and "not retried" in result.error
    assert paths(sim, start).count("/lockAction") == 1


def test_other_actions_are_retried_across_a_dropped_connection(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener)
    results = Results()
    sim.go_down()
    threading.Timer(0.4, sim.come_back).start()
    worker.submit_command(results.command("lock", ttl=5))
    (_, result), = results.wait(1)
    worker.stop()
    assert result.status == "ok" and result.attempts in (2, 3)


def test_ttl_bounds_the_retries(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener)
    results = Results()
    sim.inject_errors(status=503, count=10)
    worker.submit_command(results.command("lock", ttl=0.3))
    (_, result), = results.wait(1)
    worker.stop()
    # 1st attempt, 250 ms backoff, 2nd attempt; a 3rd would start after the TTL
    assert result.status == "error" and result.attempts == 2 and "503" in result.error


def test_unreachable_bridge_is_confirmed_then_probed_with_backoff(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener, poll_interval=30)
    sim.go_down()
    started = time.monotonic()
    worker.request_poll()
    deadline = time.monotonic() + 5
    while not any(r is False for _, r in listener.reachability) and time.monotonic() < deadline:
        time.sleep(0.02)
    went_offline = next(t for t, r in listener.reachability if r is False)
    assert 0.8 <= went_offline - started <= 2.5  # a failed request, then a failed retry a second later
    infos_before = len(listener.infos)
    time.sleep(1.0)
    sim.come_back()
    deadline = time.monotonic() + 10
    while listener.reachability[-1][1] is not True and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.reachability[-1][1] is True
    deadline = time.monotonic() + 5
    while len(listener.infos) == infos_before and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert len(listener.infos) == infos_before + 1  # back: a full refresh (/info, /list, callbacks)


def test_stop_lets_the_command_in_flight_finish_and_expires_the_queue(sim: BridgeSimulator) -> None:
    listener = Recorder()
    worker = make_worker(sim, listener)
    results = Results()
    sim.set_action_duration(0.3)
    worker.submit_command(results.command("unlock"))
    time.sleep(0.1)
    worker.submit_command(results.command("lock"))
    worker.stop()
    items = dict(results.wait(2))
    assert items["unlock"].status == "ok"
    assert items["lock"].status == "expired" and items["lock"].attempts == 0
    late = Results()
    worker.submit_command(late.command("lock"))
    assert late.wait(1)[0][1].status == "expired"


def test_a_freed_callback_slot_is_taken_while_polling(sim: BridgeSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from nuki2mqtt import worker as worker_module

    monkeypatch.setattr(worker_module, "REGISTER_RETRY", 0.3)
    others = [f"http://192.0.2.{i}:8000/app" for i in range(3)]
    for url in others:
        requests.get(f"{sim.url}/callback/add", params={"url": url, "token": "workertoken1"}, timeout=5)
    listener = Recorder(callback_url="http://127.0.0.1:9/ours")
    worker = make_worker(sim, listener, poll_interval=0.2, callbacks=True)
    assert worker.callback_registered is None and sim.callback_urls == others
    requests.get(f"{sim.url}/callback/remove", params={"id": 1, "token": "workertoken1"}, timeout=5)
    deadline = time.monotonic() + 5
    while worker.callback_registered is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.callback_urls == [others[0], others[2], "http://127.0.0.1:9/ours"]
    assert listener.setups == 2  # the gateway hears of it and republishes the bridge
    worker.stop()
    assert sim.callback_urls == [others[0], others[2]]
