"""The gateway end to end: a real broker, the bridge simulator over HTTP, the gateway."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from nuki2mqtt.const import DoorSensorState, LockState

FRONT = "1A2B3C4D"  # Smart Lock 3.0 Pro, door sensor, keypad
BACK = "2B3C4D5E"  # Smart Lock 2.0
OPENER = "3C4D5E6F"
FRONT_ID = 0x1A2B3C4D
OPENER_ID = 0x3C4D5E6F


def lock_actions(sim: Any) -> list[Any]:
    return [r for r in sim.requests if r.path == "/lockAction"]


@pytest.fixture
def running(simulator: Any, make_gateway: Any, recorder: Any, base_topic: str) -> Any:
    recorder.subscribe(f"{base_topic}/#")
    gateway = make_gateway(simulator)
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: s["state"] == "locked")
    recorder.wait_for(f"{base_topic}/{FRONT}/availability", lambda m: m.text == "online")
    return gateway


# ------------------------------------------------------------------ start-up
def test_startup_publishes_everything(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    assert recorder.is_retained(recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "online"))
    devices = recorder.wait_json(f"{base_topic}/devices", lambda d: len(d) == 3)
    assert {d["id"] for d in devices} == {FRONT, BACK, OPENER}
    front = next(d for d in devices if d["id"] == FRONT)
    assert front == {**front, "nuki_id": FRONT_ID, "device_type": "smartlock3", "name": "Front door",
                     "topic": FRONT, "via": "bridge"}
    bridges = recorder.wait_json(f"{base_topic}/bridges", lambda b: b and b[0]["id"] is not None)
    assert bridges[0]["host"] == simulator.host and bridges[0]["port"] == simulator.port
    assert bridges[0]["bridge_type"] == "hardware" and bridges[0]["reachable"] is True
    assert bridges[0]["firmware"] and bridges[0]["last_seen"].endswith("+00:00")
    # once registered, the entry says so without waiting for another /list
    assert recorder.wait_json(f"{base_topic}/bridges", lambda b: b[0]["callback"] is True)
    uptime = bridges[0]["uptime"]
    time.sleep(1.1)
    recorder.publish(f"{base_topic}/request/refresh", "{}")
    assert recorder.wait_json(f"{base_topic}/bridges", lambda b: b[0]["uptime"] > uptime)
    state = recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    assert state["source"] == "poll"
    assert state["door_sensor"] == "door_closed" and state["battery_charge"] == 85
    assert state["keypad_battery_critical"] is False
    opener = recorder.wait_json(f"{base_topic}/{OPENER}/state", lambda s: True)
    assert opener["device_type"] == "opener" and opener["state"] == "online" and opener["ring_action"] is False
    back = recorder.wait_json(f"{base_topic}/{BACK}/state", lambda s: True)
    assert back["door_sensor"] is None
    for device in (FRONT, BACK, OPENER):
        m = recorder.wait_for(f"{base_topic}/{device}/availability")
        assert m.text == "online" and recorder.is_retained(m)
    # start-up reads /info and /list, never /lockState
    assert {"/info", "/list"} <= {r.path for r in simulator.requests}
    assert "/lockState" not in {r.path for r in simulator.requests}


def test_configured_topic_and_name(simulator: Any, make_gateway: Any, recorder: Any, base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator, devices={FRONT.lower(): {"topic": "front_door", "name": "Haustür"}})
    state = recorder.wait_json(f"{base_topic}/front_door/state", lambda s: True)
    assert state["name"] == "Haustür" and state["id"] == FRONT
    recorder.publish(f"{base_topic}/front_door/set", "unlock")
    result = recorder.wait_json(f"{base_topic}/front_door/result", lambda r: True)
    assert result["status"] == "ok"


# ------------------------------------------------------------------ commands
def test_unlock_goes_through_lock_action_and_state_follows(running: Any, recorder: Any, base_topic: str,
                                                           simulator: Any) -> None:
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "ok" and result["action"] == "unlock" and result["error"] is None
    assert result["attempts"] == 1 and result["id"] is None and result["duration_ms"] >= 0
    request = lock_actions(simulator)[-1]
    assert request.params["nukiId"] == str(FRONT_ID) and request.params["deviceType"] == "4"
    assert request.params["action"] == "1"
    assert not [r for r in simulator.requests if r.path in ("/lock", "/unlock")]
    state = recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: s["state"] == "unlocked")
    assert state["source"] == "callback"
    # the transitional state was published on the way
    assert any(m.json["state"] == "unlocking" for m in recorder.messages(f"{base_topic}/{FRONT}/state"))


def test_json_command_and_mqtt5_response_topic(running: Any, recorder: Any, base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/replies/#")
    # the response topic needs MQTT 5 (amqtt speaks 3.1.1 only); the JSON command is tested either way
    reply_to = {"response_topic": f"{base_topic}/replies/1", "correlation_data": b"\x01\x02"}
    recorder.publish(f"{base_topic}/{FRONT}/set", json.dumps({"action": "lock", "id": "corr-7"}),
                     **(reply_to if recorder.is_mqtt5 else {}))
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: r["id"] == "corr-7")
    assert result["status"] == "ok" and result["action"] == "lock"
    if recorder.is_mqtt5:
        reply = recorder.wait_for(f"{base_topic}/replies/1")
        assert reply.json == result and reply.correlation_data == b"\x01\x02"


@pytest.mark.parametrize(("device", "payload", "action", "code"), [
    (FRONT, "OPEN", "unlatch", "3"),
    (FRONT, "2", "lock", "2"),
    (OPENER, "UNLOCK", "activate_rto", "1"),
    (OPENER, "activate_continuous_mode", "activate_continuous_mode", "4"),
])
def test_payload_forms_resolve(running: Any, recorder: Any, base_topic: str, simulator: Any, device: str,
                               payload: str, action: str, code: str) -> None:
    recorder.publish(f"{base_topic}/{device}/set", payload)
    result = recorder.wait_json(f"{base_topic}/{device}/result", lambda r: True)
    assert result["action"] == action and result["status"] == "ok"
    assert lock_actions(simulator)[-1].params["action"] == code


@pytest.mark.parametrize(("device", "payload", "fragment"), [
    (FRONT, "activate_rto", "not valid for a lock"),
    (OPENER, "unlatch", "not valid for an opener"),
    (FRONT, "{broken", "invalid JSON"),
    (FRONT, "", "empty payload"),
    ("nope", "lock", "unknown device"),
])
def test_bad_commands_are_rejected_and_never_sent(running: Any, recorder: Any, base_topic: str, simulator: Any,
                                                  device: str, payload: str, fragment: str) -> None:
    before = len(lock_actions(simulator))
    recorder.publish(f"{base_topic}/{device}/set", payload)
    result = recorder.wait_json(f"{base_topic}/{device}/result", lambda r: True)
    assert result["status"] == "rejected" and fragment in result["error"]
    assert result["action"] == payload
    # the gateway keeps serving
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: r["action"] == "unlock" and r["status"] == "ok")
    assert len(lock_actions(simulator)) == before + 1


@pytest.mark.mqtt5
def test_retained_command_is_never_executed(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    """A retained command published while the gateway listens.

    Only MQTT 5's retain-as-published shows the flag on a live message; under 3.1.1 the gateway
    can refuse only the retained commands delivered when it subscribes (the next test, run on
    both brokers), as docs/mqtt.md says.
    """
    before = len(lock_actions(simulator))
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlatch", retain=True)
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "rejected" and "retained" in result["error"]
    time.sleep(0.3)
    assert len(lock_actions(simulator)) == before
    recorder.publish(f"{base_topic}/{FRONT}/set", b"", retain=True)  # clean up the broker


def test_retained_command_present_at_start_is_never_executed(simulator: Any, make_gateway: Any, recorder: Any,
                                                             base_topic: str) -> None:
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock", retain=True)
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator)
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "rejected"
    time.sleep(0.3)
    assert not lock_actions(simulator)
    recorder.publish(f"{base_topic}/{FRONT}/set", b"", retain=True)


def test_expired_command_is_never_sent(simulator: Any, make_gateway: Any, recorder: Any, base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator, commands={"ttl": 0.5})
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    simulator.set_action_duration(0.6)  # the first waiting /lockAction outlives the 0.5 s TTL
    for _ in range(3):
        recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    results = [recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True, timeout=10)]
    deadline = time.monotonic() + 10
    while len(recorder.messages(f"{base_topic}/{FRONT}/result")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    results = [m.json for m in recorder.messages(f"{base_topic}/{FRONT}/result")]
    assert [r["status"] for r in results] == ["ok", "expired", "expired"]
    assert results[1]["attempts"] == 0
    assert len(lock_actions(simulator)) == 1


@pytest.mark.mqtt5
def test_mqtt5_message_expiry_shortens_the_ttl(simulator: Any, make_gateway: Any, recorder: Any,
                                               base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator)
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    simulator.set_action_duration(1.5)  # the unlock outlives the lock's 1 s message expiry
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    recorder.publish(f"{base_topic}/{FRONT}/set", "lock", expiry=1)
    deadline = time.monotonic() + 10
    while len(recorder.messages(f"{base_topic}/{FRONT}/result")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses = {m.json["action"]: m.json["status"] for m in recorder.messages(f"{base_topic}/{FRONT}/result")}
    assert statuses == {"unlock": "ok", "lock": "expired"}


def test_door_opening_action_is_never_retried(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    before = len(lock_actions(simulator))
    simulator.inject_errors(status=503, count=1)
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlatch")
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "error" and result["attempts"] == 1 and "not retried" in result["error"]
    time.sleep(0.6)
    assert len(lock_actions(simulator)) == before + 1


def test_other_actions_are_retried_on_503(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.inject_errors(status=503, count=2)
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "ok" and result["attempts"] == 3


def test_retries_stop_after_three_attempts(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.inject_errors(status=503, count=10)
    recorder.publish(f"{base_topic}/{BACK}/set", "lock")
    result = recorder.wait_json(f"{base_topic}/{BACK}/result", lambda r: True)
    assert result["status"] == "error" and result["attempts"] == 3 and "503" in result["error"]


def test_503_storm_does_not_stop_the_gateway(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.inject_errors(status=503, count=30)
    for _ in range(10):
        recorder.publish(f"{base_topic}/{BACK}/set", "lock")
    deadline = time.monotonic() + 20
    while len(recorder.messages(f"{base_topic}/{BACK}/result")) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(recorder.messages(f"{base_topic}/{BACK}/result")) == 10  # exactly one result each
    simulator.inject_errors(status=503, count=0)
    mark = recorder.mark()
    recorder.publish(f"{base_topic}/{BACK}/set", "unlock")
    recorder.wait_for(f"{base_topic}/{BACK}/result", lambda m: m.json["status"] == "ok", after=mark)


def test_commands_keep_arrival_order(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    before = len(lock_actions(simulator))
    sequence = ["unlock", "lock", "unlock", "lock", "unlock"]
    for action in sequence:
        recorder.publish(f"{base_topic}/{BACK}/set", action)
    deadline = time.monotonic() + 10
    while len(recorder.messages(f"{base_topic}/{BACK}/result")) < len(sequence) and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = [r.params["action"] for r in lock_actions(simulator)[before:]]
    assert sent == ["1", "2", "1", "2", "1"]
    assert simulator.busy_rejections == 0


# ------------------------------------------------------------------ callbacks and state
def test_callback_registered_with_bridge_id_path(running: Any, simulator: Any) -> None:
    bridge_id = running.bridges[0].id
    urls = simulator.callback_urls
    assert len(urls) == 1 and urls[0].endswith(f"/callback/{bridge_id}")
    assert urls[0].startswith("http://127.0.0.1:")


def test_external_change_arrives_by_callback(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.set_door_sensor(FRONT_ID, DoorSensorState.DOOR_OPENED)
    state = recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: s["door_sensor"] == "door_opened")
    assert state["door_sensor_id"] == 3 and state["source"] == "callback"
    simulator.set_battery(FRONT_ID, charge=20, critical=True)
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: s["battery_critical"] and s["battery_charge"] == 20)


def test_only_real_changes_are_republished(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    mark = recorder.mark()
    simulator.set_lock_state(FRONT_ID, LockState.LOCKED)  # the state it already has
    simulator.set_lock_state(FRONT_ID, LockState.UNLOCKED)
    recorder.wait_for(f"{base_topic}/{FRONT}/state", lambda m: m.json["state"] == "unlocked", after=mark)
    published = [m.json["state"] for m in recorder.messages(f"{base_topic}/{FRONT}/state")]
    assert published.count("locked") == 1  # the start-up one only


def test_opener_ring_is_an_event(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.ring(OPENER_ID)
    event = recorder.wait_for(f"{base_topic}/{OPENER}/event")
    assert event.json["event_type"] == "ring" and not recorder.is_retained(event)
    recorder.wait_json(f"{base_topic}/{OPENER}/state", lambda s: s["ring_action"] is True)


def test_callback_endpoint_validation(running: Any, simulator: Any) -> None:
    port = running.listener.port
    bridge_id = running.bridges[0].id
    url = f"http://127.0.0.1:{port}/callback/{bridge_id}"
    assert requests.post(url, data=b"{not json", timeout=5).status_code == 400
    assert requests.post(url, json={"state": 1}, timeout=5).status_code == 400
    assert requests.post(url, data=b"x" * 20000, timeout=5).status_code == 413
    assert requests.post(f"http://127.0.0.1:{port}/callback/999", json={"nukiId": 1}, timeout=5).status_code == 404
    # from another local address than the bridge's
    session = requests.Session()
    from requests.adapters import HTTPAdapter

    class SourceAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = ("127.0.0.2", 0)
            super().init_poolmanager(*args, **kwargs)

    session.mount("http://", SourceAdapter())
    assert session.post(url, json={"nukiId": FRONT_ID, "state": 3}, timeout=5).status_code == 403
    assert requests.post(url, json={"nukiId": FRONT_ID, "deviceType": 4, "state": 1}, timeout=5).status_code == 200


def test_health(running: Any, simulator: Any) -> None:
    health = requests.get(f"http://127.0.0.1:{running.listener.port}/health", timeout=5)
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["mqtt"] == "connected"
    assert body["bridges"][running.bridges[0].id]["reachable"] is True


# ------------------------------------------------------------------ availability
def test_bridge_down_and_back(running: Any, recorder: Any, base_topic: str, simulator: Any) -> None:
    simulator.go_down()
    recorder.publish(f"{base_topic}/request/refresh", "{}")
    recorder.wait_for(f"{base_topic}/{FRONT}/availability", lambda m: m.text == "offline", timeout=8)
    health = requests.get(f"http://127.0.0.1:{running.listener.port}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    bridges = recorder.wait_json(f"{base_topic}/bridges", lambda b: b[0]["reachable"] is False)
    assert bridges[0]["reachable"] is False
    simulator.come_back()
    recorder.wait_for(f"{base_topic}/{FRONT}/availability", lambda m: m.text == "online", after=recorder.mark() - 50,
                      timeout=10)
    recorder.wait_json(f"{base_topic}/bridges", lambda b: b[0]["reachable"] is True)


# ------------------------------------------------------------------ stop
def test_clean_stop_removes_own_callback_only_and_goes_offline(simulator: Any, make_gateway: Any, recorder: Any,
                                                               base_topic: str) -> None:
    foreign = "http://192.0.2.10:8000/other-app"
    requests.get(f"{simulator.url}/callback/add", params={"url": foreign, "token": simulator.token}, timeout=5)
    recorder.subscribe(f"{base_topic}/#")
    gateway = make_gateway(simulator, start=False)
    gateway.start()
    assert gateway.wait_ready(15)
    assert len(simulator.callback_urls) == 2
    gateway.stop()
    assert simulator.callback_urls == [foreign]
    status = recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "offline")
    assert recorder.is_retained(status)


def test_full_callback_slots_fall_back_to_polling(simulator: Any, make_gateway: Any, recorder: Any,
                                                  base_topic: str, caplog: Any) -> None:
    foreign = [f"http://192.0.2.{i}:8000/app" for i in range(3)]
    for url in foreign:
        requests.get(f"{simulator.url}/callback/add", params={"url": url, "token": simulator.token}, timeout=5)
    recorder.subscribe(f"{base_topic}/#")
    gateway = make_gateway(simulator, bridge={"poll_interval": 5})
    recorder.wait_json(f"{base_topic}/{FRONT}/state", lambda s: True)
    assert simulator.callback_urls == foreign
    assert "callback slots" in caplog.text and foreign[0] in caplog.text
    # without callbacks, an action's outcome comes from /list
    recorder.publish(f"{base_topic}/{BACK}/set", "unlock")
    recorder.wait_json(f"{base_topic}/{BACK}/state", lambda s: s["state"] == "unlocked" and s["source"] == "poll")
    gateway.stop()
    assert simulator.callback_urls == foreign


def test_existing_identical_callback_is_kept(simulator: Any, make_gateway: Any, recorder: Any,
                                             base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    first = make_gateway(simulator, start=False)
    first.start()
    assert first.wait_ready(15)
    url = simulator.callback_urls[0]
    adds = len([r for r in simulator.requests if r.path == "/callback/add"])
    first.bridges[0].worker.request_setup()
    time.sleep(0.5)
    assert simulator.callback_urls == [url]
    assert len([r for r in simulator.requests if r.path == "/callback/add"]) == adds
    first.stop()


def test_advertise_url_overrides_the_detected_address(simulator: Any, make_gateway: Any) -> None:
    gateway = make_gateway(simulator, server={"advertise_url": "http://127.0.0.1:9999/"})
    assert simulator.callback_urls == [f"http://127.0.0.1:9999/callback/{gateway.bridges[0].id}"]


# ------------------------------------------------------------------ review findings
@pytest.mark.mqtt5
@pytest.mark.parametrize("retained", [False, True])
def test_a_reply_aimed_at_a_command_topic_is_never_a_command(running: Any, recorder: Any, base_topic: str,
                                                             simulator: Any, retained: bool) -> None:
    before = len(lock_actions(simulator))
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlatch", retain=retained,
                     response_topic=f"{base_topic}/{FRONT}/set", correlation_data=b"x")
    recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    time.sleep(1.0)
    assert len(lock_actions(simulator)) == before + (0 if retained else 1)
    assert len(recorder.messages(f"{base_topic}/{FRONT}/result")) == 1
    if retained:
        recorder.publish(f"{base_topic}/{FRONT}/set", b"", retain=True)


def test_a_list_read_begun_before_a_callback_does_not_undo_it(running: Any, recorder: Any, base_topic: str,
                                                              simulator: Any) -> None:
    simulator.set_service_delay(1.0)  # the /list answer (locked) arrives after the change's callback
    recorder.publish(f"{base_topic}/request/refresh", json.dumps({"transaction": 1}))
    time.sleep(0.3)
    simulator.set_lock_state(FRONT_ID, LockState.UNLOCKED)
    recorder.wait_json(f"{base_topic}/response/refresh", lambda r: r["transaction"] == 1, timeout=10)
    time.sleep(0.3)
    published = [m.json["state"] for m in recorder.messages(f"{base_topic}/{FRONT}/state")]
    assert published[-1] == "unlocked", published


def test_stop_during_a_slow_action(simulator: Any, make_gateway: Any, recorder: Any, base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    gateway = make_gateway(simulator, start=False)
    gateway.start()
    assert gateway.wait_ready(15)
    simulator.set_action_duration(1.5)
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    recorder.publish(f"{base_topic}/{FRONT}/set", "lock")
    worker = gateway.bridges[0].worker
    deadline = time.monotonic() + 5
    while not (lock_actions(simulator) and worker.queued_commands == 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.queued_commands == 1  # "lock" waits behind the unlock in flight
    gateway.stop()
    assert simulator.callback_urls == []  # removed after the action in flight finished
    recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "offline")
    messages = recorder.messages()
    results = {m.json["action"]: (i, m.json["status"]) for i, m in enumerate(messages) if m.topic.endswith("/result")}
    offline = next(i for i, m in enumerate(messages) if m.topic == f"{base_topic}/status" and m.text == "offline")
    assert results["unlock"][1] == "ok" and results["lock"][1] == "expired"
    assert max(results["unlock"][0], results["lock"][0]) < offline  # every result before offline


def test_a_request_waiting_longer_than_the_ttl_is_not_sent(simulator: Any, make_gateway: Any, recorder: Any,
                                                           base_topic: str) -> None:
    recorder.subscribe(f"{base_topic}/#")
    make_gateway(simulator, commands={"ttl": 0.5})
    simulator.set_action_duration(1.0)
    recorder.publish(f"{base_topic}/{FRONT}/set", "unlock")
    time.sleep(0.1)
    recorder.publish(f"{base_topic}/request/bridge_reboot", json.dumps({"transaction": 1}))
    recorder.publish(f"{base_topic}/request/bridge_info", json.dumps({"transaction": 2}))
    answer = recorder.wait_json(f"{base_topic}/response/bridge_info", lambda r: True, timeout=10)
    assert answer["status"] == "error" and "not sent" in answer["error"]
    assert not [r for r in simulator.requests if r.path == "/info" and r.received_at > lock_actions(simulator)[-1].received_at]


def test_deeply_nested_json_gets_an_answer(running: Any, recorder: Any, base_topic: str) -> None:
    recorder.publish(f"{base_topic}/{FRONT}/set", "[" * 5000)
    result = recorder.wait_json(f"{base_topic}/{FRONT}/result", lambda r: True)
    assert result["status"] == "rejected"
    recorder.publish(f"{base_topic}/request/bridge_info", "[" * 5000)
    assert recorder.wait_json(f"{base_topic}/response/bridge_info", lambda r: True)["status"] == "error"
    url = f"http://127.0.0.1:{running.listener.port}/callback/{running.bridges[0].id}"
    assert requests.post(url, data=b"[" * 5000, timeout=5).status_code == 400


def test_non_bridge_senders_only_ever_get_403(running: Any) -> None:
    from requests.adapters import HTTPAdapter

    class SourceAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = ("127.0.0.2", 0)
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.mount("http://", SourceAdapter())
    base = f"http://127.0.0.1:{running.listener.port}/callback"
    assert session.post(f"{base}/999", json={"nukiId": 1}, timeout=5).status_code == 403
    assert session.post(f"{base}/{running.bridges[0].id}", data=b"x" * 20000, timeout=5).status_code == 403


@pytest.mark.parametrize(("source", "status"), [("127.0.0.1", 413), ("127.0.0.2", 403)])
def test_a_refused_body_does_not_reset_the_answer(running: Any, source: str, status: int) -> None:
    """Answered before the body is read, with ``Connection: close``, the body read away.

    Without the header a keep-alive client sends its next request into the connection the
    listener is closing (requests then fails with "Remote end closed connection without
    response"); without reading the body away, the close resets the connection.
    """
    import socket

    body = b"x" * 200_000
    head = (f"POST /callback/{running.bridges[0].id} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", running.listener.port), timeout=5,
                                  source_address=(source, 0)) as sock:
        sock.sendall(head + body)
        time.sleep(0.3)  # the listener has answered and closed by now
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"\r\nConnection: close\r\n" in answer


@pytest.mark.parametrize(("header", "status"), [("Content-Length: abc", 400), ("Content-Length: -5", 400),
                                                ("Transfer-Encoding: chunked", 411)])
def test_a_body_of_unknown_length_closes_the_connection(running: Any, header: str, status: int) -> None:
    """The rest of the stream would otherwise be read as the next request."""
    import socket

    request = f"POST /callback/{running.bridges[0].id} HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", running.listener.port), timeout=5) as sock:
        sock.sendall(request.encode() + b"5\r\nhello\r\n0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()) and answer.count(b"HTTP/1.1") == 1
    assert b"\r\nConnection: close\r\n" in answer


def test_idle_connections_are_closed(running: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from nuki2mqtt import server

    monkeypatch.setattr(server._Handler, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", running.listener.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the listener, never answered
        assert time.monotonic() - started < 3
