"""One request at a time, injected faults, going down and coming back, reboot."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from nuki2mqtt.simulator import BridgeSimulator
from tests.simulator.helpers import BACK, FRONT, TOKEN, call


def _concurrently(*calls) -> list[requests.Response]:
    """Start each call 50 ms after the previous one; return the responses in start order."""
    results: list[requests.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = []
    for i in range(len(calls)):
        t = threading.Thread(target=run, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.05)
    for t in threads:
        t.join(10)
    return results  # type: ignore[return-value]


def test_second_concurrent_request_gets_503_at_once(sim: BridgeSimulator) -> None:
    sim.set_service_delay(0.3)
    timings = {}

    def timed(name: str):
        def go() -> requests.Response:
            started = time.monotonic()
            r = call(sim.url, "/list")
            timings[name] = time.monotonic() - started
            return r
        return go

    first, second = _concurrently(timed("first"), timed("second"))
    assert (first.status_code, second.status_code) == (200, 503)
    assert timings["second"] < 0.2  # refused immediately, not queued
    assert sim.busy_rejections == 1
    assert [r.status for r in sim.requests] == [200, 503]


def test_no_strict_queues_instead(sim: BridgeSimulator) -> None:
    sim.strict = False
    sim.set_service_delay(0.2)
    first, second = _concurrently(lambda: call(sim.url, "/list"), lambda: call(sim.url, "/info"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert sim.busy_rejections == 0


def test_lock_action_holds_the_slot_until_done(sim: BridgeSimulator) -> None:
    sim.set_action_duration(0.15)
    action, listing = _concurrently(
        lambda: call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=4),  # lock 'n' go: 0.45 s
        lambda: call(sim.url, "/list"),
    )
    assert action.json()["success"] is True
    assert listing.status_code == 503
    assert sim.device(FRONT).state == 1


def test_nowait_answers_at_once_and_the_action_runs_on(sim: BridgeSimulator) -> None:
    sim.set_action_duration(0.6)
    started = time.monotonic()
    r = call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=1, nowait=1)
    assert time.monotonic() - started < 0.3
    assert r.json() == {"success": True, "batteryCritical": False}
    assert sim.device(FRONT).state == 2  # unlocking
    assert call(sim.url, "/list").status_code == 200  # the cache is served
    assert call(sim.url, "/lockState", nukiId=BACK).status_code == 503  # the bridge is busy with the lock
    assert sim.busy_rejections == 1
    deadline = time.monotonic() + 2
    while sim.device(FRONT).state != 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.device(FRONT).state == 3
    time.sleep(0.02)
    assert call(sim.url, "/lockState", nukiId=BACK).status_code == 200


def test_sequential_requests_never_see_503(sim: BridgeSimulator) -> None:
    with requests.Session() as session:
        for _ in range(150):
            r = session.get(sim.url + "/list", params={"token": TOKEN}, timeout=5)
            assert r.status_code == 200
    assert sim.busy_rejections == 0


def test_inject_errors(sim: BridgeSimulator) -> None:
    sim.inject_errors(status=503, count=2)
    sim.inject_errors(status=500, count=1)
    statuses = [call(sim.url, "/list").status_code for _ in range(4)]
    assert statuses == [503, 503, 500, 200]
    assert sim.busy_rejections == 0
    assert [r.status for r in sim.requests] == statuses


def test_go_down_and_come_back_on_the_same_port(sim: BridgeSimulator) -> None:
    port = sim.port
    assert call(sim.url, "/callback/add", url="http://127.0.0.1:9/x").json()["success"] is True
    sim.go_down()
    assert not sim.is_up
    with pytest.raises(requests.ConnectionError):
        call(sim.url, "/list")
    sim.come_back()
    assert sim.port == port
    assert call(sim.url, "/list").status_code == 200
    assert sim.callback_urls == ["http://127.0.0.1:9/x"]


def test_reboot_goes_away_briefly_and_keeps_callbacks(sim: BridgeSimulator) -> None:
    call(sim.url, "/callback/add", url="http://127.0.0.1:9/x")
    time.sleep(1.1)
    assert call(sim.url, "/info").json()["uptime"] >= 1
    r = call(sim.url, "/reboot")
    assert (r.status_code, r.content) == (200, b"")
    deadline = time.monotonic() + 1
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            call(sim.url, "/list")
        except requests.ConnectionError:
            refused = True
    assert refused
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            info = call(sim.url, "/info").json()
            break
        except requests.ConnectionError:
            time.sleep(0.02)
    else:
        pytest.fail("the bridge did not come back")
    assert info["uptime"] == 0
    assert call(sim.url, "/callback/list").json()["callbacks"] == [{"id": 0, "url": "http://127.0.0.1:9/x"}]


def test_factory_reset_forgets_everything(sim: BridgeSimulator) -> None:
    call(sim.url, "/callback/add", url="http://127.0.0.1:9/x")
    assert call(sim.url, "/factoryReset").status_code == 200
    # The reset clears everything and then reboots: wait for the port to go down before
    # reading again, or a read just before the reboot and one during it could both happen.
    deadline = time.monotonic() + 3
    while sim.is_up and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not sim.is_up, "a factory reset reboots the bridge"
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            listing = call(sim.url, "/list")
            if listing.status_code == 200 and listing.json() == []:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    assert call(sim.url, "/list").json() == []
    assert sim.callback_urls == []


def test_stop_releases_a_waiting_auth() -> None:
    sim = BridgeSimulator(token=TOKEN, auth_window=30).start()
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", requests.get(sim.url + "/auth", timeout=10)))
    t.start()
    time.sleep(0.1)
    started = time.monotonic()
    sim.stop()
    t.join(5)
    assert time.monotonic() - started < 3
    assert result["r"].json() == {"success": False}
