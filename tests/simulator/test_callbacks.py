"""Callbacks: registration limits, and the POSTs a real HTTP server receives."""
from __future__ import annotations

import time

import pytest

from nuki2mqtt.const import DoorSensorState, LockState
from nuki2mqtt.simulator import BridgeSimulator
from tests.simulator.helpers import BACK, FRONT, OPENER, CallbackCollector, call


def add(sim: BridgeSimulator, url: str):
    return call(sim.url, "/callback/add", url=url)


def test_add_list_remove_and_ids_shift(sim: BridgeSimulator) -> None:
    for i in range(3):
        assert add(sim, f"http://127.0.0.1:800{i}/nuki").json() == {"success": True}
    fourth = add(sim, "http://127.0.0.1:8003/nuki")
    assert fourth.status_code == 200
    assert fourth.json()["success"] is False and fourth.json()["message"]
    listing = call(sim.url, "/callback/list").json()
    assert listing == {"callbacks": [{"id": i, "url": f"http://127.0.0.1:800{i}/nuki"} for i in range(3)]}
    assert call(sim.url, "/callback/remove", id=0).json() == {"success": True}
    assert call(sim.url, "/callback/list").json()["callbacks"] == [
        {"id": 0, "url": "http://127.0.0.1:8001/nuki"},
        {"id": 1, "url": "http://127.0.0.1:8002/nuki"},
    ]
    missing = call(sim.url, "/callback/remove", id=5).json()
    assert missing["success"] is False and missing["message"]
    assert call(sim.url, "/callback/remove", id="x").status_code == 400
    assert call(sim.url, "/callback/remove").status_code == 400
    assert call(sim.url, "/callback/remove", auth={"token": "no"}, id=0).status_code == 401


def test_duplicate_url_refused(sim: BridgeSimulator) -> None:
    assert add(sim, "http://127.0.0.1:8000/a").json()["success"] is True
    again = add(sim, "http://127.0.0.1:8000/a").json()
    assert again["success"] is False and "already" in again["message"]
    assert sim.callback_urls == ["http://127.0.0.1:8000/a"]


def test_url_limits(sim: BridgeSimulator) -> None:
    assert add(sim, "https://127.0.0.1:8000/a").status_code == 400
    assert add(sim, "ftp://127.0.0.1/a").status_code == 400
    assert add(sim, "").status_code == 400
    assert add(sim, "http://127.0.0.1:99999/a").status_code == 400
    base = "http://127.0.0.1:8000/"
    assert add(sim, base + "a" * (254 - len(base))).json()["success"] is True  # exactly 254
    assert add(sim, base + "b" * (255 - len(base))).status_code == 400
    assert call(sim.url, "/callback/add", auth={}, url=base).status_code == 401


def test_transitional_states_reach_the_callback_in_order(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    add(sim, collector.url)
    sent = []
    sim.on_callback_sent = lambda url, body, at: sent.append((url, body["state"], at))
    r = call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=5)  # lock 'n' go with unlatch
    assert r.json()["success"] is True
    bodies = collector.wait_for(5)
    assert [b["state"] for b in bodies] == [7, 5, 6, 4, 1]
    assert [b["stateName"] for b in bodies] == [
        "unlatching", "unlatched", "unlocked (lock 'n' go)", "locking", "locked"]
    assert bodies[-1] == {
        "nukiId": FRONT, "deviceType": 4, "mode": 2, "state": 1, "stateName": "locked",
        "batteryCritical": False, "batteryCharging": False, "batteryChargeState": 85,
        "keypadBatteryCritical": False, "doorsensorState": 2, "doorsensorStateName": "door closed",
    }
    assert [s for _, s, _ in sent] == [7, 5, 6, 4, 1]
    assert all(url == collector.url for url, _, _ in sent)
    assert {ip for _, ip, _ in collector.received} == {"127.0.0.1"}  # sent from the bridge's own address


@pytest.mark.parametrize(
    ("action", "states"),
    [(1, [2, 3]), (2, [4, 1]), (3, [7, 5, 3]), (4, [2, 6, 4, 1])],
)
def test_each_lock_action_fires_one_callback_per_state(
    sim: BridgeSimulator, collector: CallbackCollector, action: int, states: list[int]
) -> None:
    add(sim, collector.url)
    call(sim.url, "/lockAction", nukiId=BACK, action=action)
    assert [b["state"] for b in collector.wait_for(len(states))] == states
    time.sleep(0.05)
    assert len(collector.received) == len(states)
    assert "doorsensorState" not in collector.bodies[0] and "keypadBatteryCritical" not in collector.bodies[0]


def test_every_url_gets_it_and_a_failing_one_is_skipped(sim: BridgeSimulator) -> None:
    first, second = CallbackCollector(status=500), CallbackCollector()
    try:
        add(sim, "http://127.0.0.1:9/dead")  # connection refused
        add(sim, first.url)
        add(sim, second.url)
        sim.set_lock_state(BACK, LockState.UNLOCKED)
        sim.set_lock_state(BACK, LockState.LOCKED)
        assert [b["state"] for b in second.wait_for(2)] == [3, 1]
        assert [b["state"] for b in first.wait_for(2)] == [3, 1]
    finally:
        first.close()
        second.close()


def test_external_changes_fire_callbacks(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    add(sim, collector.url)
    sim.set_door_sensor(FRONT, DoorSensorState.DOOR_OPENED)
    sim.set_battery(FRONT, charge=19, critical=True, charging=True, keypad_critical=True)
    sim.set_lock_state(FRONT, LockState.UNLOCKED)
    door, battery, state = collector.wait_for(3)
    assert (door["doorsensorState"], door["doorsensorStateName"]) == (3, "door opened")
    assert (battery["batteryChargeState"], battery["batteryCritical"], battery["batteryCharging"],
            battery["keypadBatteryCritical"]) == (19, True, True, True)
    assert (state["state"], state["stateName"]) == (3, "unlocked")
    listed = call(sim.url, "/list").json()[0]["lastKnownState"]
    assert (listed["state"], listed["doorsensorState"], listed["batteryChargeState"]) == (3, 3, 19)


def test_ring_sets_ring_action_and_resets(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    add(sim, collector.url)
    sim.ring_reset = 0.8
    sim.ring(OPENER)
    (body,) = collector.wait_for(1)
    assert body["ringactionState"] is True and body["state"] == 1
    assert body["ringactionTimestamp"].endswith("+00:00")
    time.sleep(0.1)
    assert len(collector.received) == 1  # no RTO: the door stays shut
    state = call(sim.url, "/lockState", nukiId=OPENER, deviceType=2).json()
    assert state["ringactionState"] is True and state["ringactionTimestamp"] == body["ringactionTimestamp"]
    time.sleep(0.8)
    state = call(sim.url, "/lockState", nukiId=OPENER, deviceType=2).json()
    assert state["ringactionState"] is False and state["ringactionTimestamp"] == body["ringactionTimestamp"]


def test_ring_with_rto_opens_and_ends_rto(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    call(sim.url, "/lockAction", nukiId=OPENER, deviceType=2, action=1)
    add(sim, collector.url)
    sim.ring(OPENER)
    bodies = collector.wait_for(4)
    assert [(b["state"], b["ringactionState"]) for b in bodies] == [(3, True), (7, True), (5, True), (1, True)]
    assert [b["stateName"] for b in bodies] == ["rto active", "opening", "open", "online"]


def test_ring_in_continuous_mode_opens_and_stays(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    call(sim.url, "/lockAction", nukiId=OPENER, deviceType=2, action=4)
    add(sim, collector.url)
    sim.ring(OPENER)
    bodies = collector.wait_for(4)
    assert [(b["mode"], b["state"]) for b in bodies] == [(3, 3), (3, 7), (3, 5), (3, 3)]


def test_nowait_callbacks_arrive_after_the_answer(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    add(sim, collector.url)
    sim.set_action_duration(0.1)
    assert call(sim.url, "/lockAction", nukiId=BACK, action=1, nowait=1).json()["success"] is True
    assert [b["state"] for b in collector.wait_for(2)] == [2, 3]


def test_no_callback_for_removed_url(sim: BridgeSimulator, collector: CallbackCollector) -> None:
    add(sim, collector.url)
    call(sim.url, "/callback/remove", id=0)
    sim.set_lock_state(BACK, LockState.UNLOCKED)
    time.sleep(0.2)
    assert collector.received == []
