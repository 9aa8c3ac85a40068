"""Every endpoint over real HTTP: JSON shapes and documented error codes."""
from __future__ import annotations

import time

import pytest
import requests

from nuki2mqtt.const import BridgeType
from nuki2mqtt.simulator import BridgeSimulator
from tests.simulator.helpers import BACK, FRONT, OPENER, TOKEN, call

TS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"


def test_list_shape(sim: BridgeSimulator) -> None:
    r = call(sim.url, "/list")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    front, back, opener = r.json()
    assert set(front) == {"nukiId", "deviceType", "name", "firmwareVersion", "lastKnownState"}
    assert (front["nukiId"], front["deviceType"], front["name"], front["firmwareVersion"]) == (
        FRONT, 4, "Front door", "4.2.5")
    assert front["lastKnownState"].keys() == {
        "mode", "state", "stateName", "batteryCritical", "batteryCharging", "batteryChargeState",
        "keypadBatteryCritical", "doorsensorState", "doorsensorStateName", "timestamp",
    }
    assert front["lastKnownState"]["stateName"] == "locked"
    assert front["lastKnownState"]["doorsensorStateName"] == "door closed"
    assert back["lastKnownState"].keys() == {
        "mode", "state", "stateName", "batteryCritical", "batteryCharging", "batteryChargeState", "timestamp"
    }
    assert opener["deviceType"] == 2
    assert opener["lastKnownState"].keys() == {"mode", "state", "stateName", "batteryCritical", "ringactionState",
                                               "timestamp"}
    import re
    assert re.match(TS_RE, opener["lastKnownState"]["timestamp"])


def test_lock_state_shape_and_errors(sim: BridgeSimulator) -> None:
    r = call(sim.url, "/lockState", nukiId=FRONT, deviceType=4)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["state"] == 1 and body["doorsensorState"] == 2
    assert "timestamp" not in body
    assert call(sim.url, "/lockState", nukiId=BACK).status_code == 200  # deviceType defaults to 0
    assert call(sim.url, "/lockState", nukiId=BACK, deviceType="").status_code == 200  # the document's blank
    assert call(sim.url, "/lockState", nukiId=OPENER).status_code == 404  # an opener needs deviceType 2
    assert call(sim.url, "/lockState", nukiId=OPENER, deviceType=2).json()["stateName"] == "online"
    assert call(sim.url, "/lockState", nukiId=12345, deviceType=0).status_code == 404
    assert call(sim.url, "/lockState", nukiId="abc").status_code == 400
    assert call(sim.url, "/lockState").status_code == 400
    assert call(sim.url, "/lockState", nukiId=BACK, deviceType=9).status_code == 400
    assert call(sim.url, "/lockState", auth={"token": "nope"}, nukiId=BACK).status_code == 401


def test_offline_device_answers_503(sim: BridgeSimulator) -> None:
    sim.set_device_offline(BACK, True)
    assert call(sim.url, "/lockState", nukiId=BACK).status_code == 503
    assert call(sim.url, "/lockAction", nukiId=BACK, action=1).status_code == 503
    assert call(sim.url, "/unlock", nukiId=BACK).status_code == 503
    assert call(sim.url, "/list").status_code == 200  # served from the cache
    assert sim.busy_rejections == 0  # offline is not concurrency
    sim.set_device_offline(BACK, False)
    assert call(sim.url, "/lockState", nukiId=BACK).status_code == 200


def test_lock_action_waits_for_the_real_outcome(sim: BridgeSimulator) -> None:
    sim.set_action_duration(0.1)
    started = time.monotonic()
    r = call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=3)  # unlatch: 2 transitional states
    assert time.monotonic() - started >= 0.2
    assert r.json() == {"success": True, "batteryCritical": False}
    assert sim.device(FRONT).state == 3  # unlatched -> unlocked


@pytest.mark.parametrize("action", ["0", "6", "x", ""])
def test_lock_action_invalid_action_is_400(sim: BridgeSimulator, action: str) -> None:
    assert call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=action).status_code == 400


def test_lock_action_errors(sim: BridgeSimulator) -> None:
    assert call(sim.url, "/lockAction", nukiId=FRONT, deviceType=4, action=1, nowait=2).status_code == 400
    assert call(sim.url, "/lockAction", nukiId=999, action=1).status_code == 404
    assert call(sim.url, "/lockAction", auth={}, nukiId=FRONT, deviceType=4, action=1).status_code == 401


def test_failed_action_reports_success_false(sim: BridgeSimulator) -> None:
    sim.fail_next_action(BACK)
    assert call(sim.url, "/lockAction", nukiId=BACK, action=1).json()["success"] is False
    assert sim.device(BACK).state == 254  # motor blocked
    assert call(sim.url, "/lockAction", nukiId=BACK, action=2).json()["success"] is True
    assert sim.device(BACK).state == 1


def test_simple_lock_and_unlock(sim: BridgeSimulator) -> None:
    r = call(sim.url, "/unlock", nukiId=FRONT, deviceType=4)
    assert r.json() == {"success": True, "batteryCritical": False}
    assert sim.device(FRONT).state == 3  # handle hardware: unlocked, not unlatched
    assert call(sim.url, "/lock", nukiId=FRONT, deviceType=4).json()["success"] is True
    assert sim.device(FRONT).state == 1
    call(sim.url, "/lockAction", nukiId=OPENER, deviceType=2, action=4)  # continuous mode on
    assert (sim.device(OPENER).mode, sim.device(OPENER).state) == (3, 3)
    assert call(sim.url, "/lock", nukiId=OPENER, deviceType=2).json()["success"] is True
    assert (sim.device(OPENER).mode, sim.device(OPENER).state) == (2, 1)  # rto and cm off
    assert call(sim.url, "/unlock", nukiId=OPENER, deviceType=2).json()["success"] is True
    assert sim.device(OPENER).state == 1  # opened and back
    assert call(sim.url, "/lock", nukiId=77).status_code == 404
    assert call(sim.url, "/unlock", auth={"token": "x"}, nukiId=BACK).status_code == 401


def test_opener_actions(sim: BridgeSimulator) -> None:
    def act(action: int) -> tuple[int, int]:
        assert call(sim.url, "/lockAction", nukiId=OPENER, deviceType=2, action=action).json()["success"]
        d = sim.device(OPENER)
        return d.mode, d.state

    assert act(1) == (2, 3)  # activate rto
    assert act(3) == (2, 3)  # electric strike, back to rto active
    assert act(2) == (2, 1)  # deactivate rto
    assert act(4) == (3, 3)  # continuous mode on
    assert act(5) == (2, 1)  # continuous mode off


def test_info_hardware(sim: BridgeSimulator) -> None:
    sim.clock_offset = 3600.0
    body = call(sim.url, "/info").json()
    assert body["bridgeType"] == 1
    assert body["ids"] == {"hardwareId": sim.hardware_id, "serverId": 2117604523}
    assert body["versions"] == {"firmwareVersion": "2.16.1", "wifiFirmwareVersion": "2.2.0"}
    assert isinstance(body["uptime"], int) and body["serverConnected"] is True
    expected = time.strftime("%Y-%m-%dT%H", time.gmtime(time.time() + 3600))
    assert body["currentTime"].startswith(expected) and body["currentTime"].endswith("Z")
    assert [s["nukiId"] for s in body["scanResults"]] == [FRONT, BACK, OPENER]
    assert body["scanResults"][2] == {
        "nukiId": OPENER, "deviceType": 2, "name": "Nuki_Opener_3C4D5E6F", "rssi": body["scanResults"][2]["rssi"],
        "paired": True,
    }


def test_software_bridge() -> None:
    with BridgeSimulator(token=TOKEN, bridge_type=BridgeType.SOFTWARE, firmware_version="1.20.0") as sw:
        body = call(sw.url, "/info").json()
        assert body["bridgeType"] == 2
        assert body["ids"] == {"serverId": 2117604523}
        assert body["versions"] == {"appVersion": "1.20.0"}
        for path in ("/unpair", "/log", "/clearlog", "/fwupdate", "/reboot", "/factoryReset"):
            assert call(sw.url, path, nukiId=BACK).status_code == 404, path
        assert call(sw.url, "/list").status_code == 200
        assert sw.is_up  # /reboot did nothing


def test_unpair(sim: BridgeSimulator) -> None:
    assert call(sim.url, "/unpair", nukiId=BACK, deviceType=0).json() == {"success": True}
    assert [d["nukiId"] for d in call(sim.url, "/list").json()] == [FRONT, OPENER]
    assert call(sim.url, "/unpair", nukiId=BACK).status_code == 404
    scans = call(sim.url, "/info").json()["scanResults"]
    assert [(s["nukiId"], s["paired"]) for s in scans] == [(FRONT, True), (OPENER, True), (BACK, False)]
    assert call(sim.url, "/unpair", auth={}, nukiId=FRONT, deviceType=4).status_code == 401


def test_config_auth(sim: BridgeSimulator) -> None:
    assert call(sim.url, "/configAuth", enable=2).status_code == 400
    assert call(sim.url, "/configAuth").status_code == 400
    assert call(sim.url, "/configAuth", auth={"token": "x"}, enable=0).status_code == 401
    assert call(sim.url, "/configAuth", enable=0).json() == {"success": True}
    assert requests.get(sim.url + "/auth", timeout=5).status_code == 403
    assert call(sim.url, "/configAuth", enable=1).json() == {"success": True}
    sim.press_button()
    assert requests.get(sim.url + "/auth", timeout=5).json() == {"token": TOKEN, "success": True}


def test_auth_with_button_pressed_while_waiting(sim: BridgeSimulator) -> None:
    import threading

    sim.auth_window = 5.0
    threading.Timer(0.2, sim.press_button).start()
    started = time.monotonic()
    r = requests.get(sim.url + "/auth", timeout=10)
    assert r.json() == {"token": TOKEN, "success": True}
    assert 0.15 < time.monotonic() - started < 4


def test_auth_without_button_fails_after_the_window(sim: BridgeSimulator) -> None:
    started = time.monotonic()
    r = requests.get(sim.url + "/auth", timeout=10)
    assert r.status_code == 200 and r.json() == {"success": False}
    assert time.monotonic() - started >= 0.45  # auth_window 0.5


def test_button_press_is_used_once(sim: BridgeSimulator) -> None:
    sim.press_button()
    assert requests.get(sim.url + "/auth", timeout=5).json()["success"] is True
    assert requests.get(sim.url + "/auth", timeout=5).json() == {"success": False}


def test_log_clearlog_fwupdate(sim: BridgeSimulator) -> None:
    call(sim.url, "/lockAction", nukiId=BACK, action=1)
    log = call(sim.url, "/log").json()
    assert isinstance(log, list) and log
    assert all({"timestamp", "type"} <= set(e) for e in log)
    assert log[0]["type"] == "lock-action"  # newest first
    assert len(call(sim.url, "/log", offset=1, count=1).json()) == 1
    assert call(sim.url, "/log", count="x").status_code == 400
    r = call(sim.url, "/clearlog")
    assert (r.status_code, r.content) == (200, b"")
    assert call(sim.url, "/log").json() == []
    assert call(sim.url, "/fwupdate").status_code == 200
    assert call(sim.url, "/fwupdate", scope=2, nukiId=FRONT, deviceType=4).status_code == 200
    assert call(sim.url, "/fwupdate", scope=3).status_code == 400
    assert call(sim.url, "/fwupdate", nukiId=FRONT).status_code == 404  # deviceType defaults to 0
    assert call(sim.url, "/log", auth={}).status_code == 401


def test_unknown_path_and_malformed_query(sim: BridgeSimulator) -> None:
    r = requests.get(sim.url + "/nothing?token=" + TOKEN, timeout=5)
    assert r.status_code == 404
    r = requests.get(sim.url + "/lockState?token=" + TOKEN + "&nukiId=%ff%fe", timeout=5)
    assert r.status_code == 400
    assert "Traceback" not in r.text and r.headers["Content-Type"] == "text/plain"
    r = requests.post(sim.url + "/list?token=" + TOKEN, timeout=5)
    assert r.status_code == 405


def test_request_records_hide_the_token(sim: BridgeSimulator) -> None:
    seen = []
    sim.on_request = lambda record: seen.append((record.path, record.status))
    call(sim.url, "/lockState", nukiId=BACK)
    call(sim.url, "/list", auth={"ctoken": "aa", "nonce": "bb"})
    records = sim.requests
    assert [(r.path, r.status) for r in records] == [("/lockState", 200), ("/list", 401)]
    assert records[0].params == {"nukiId": str(BACK)}
    assert records[1].params == {}
    assert seen == [("/lockState", 0), ("/list", 0)]  # called on arrival, before the answer
    assert records[0].received_at <= records[1].received_at


def test_control_endpoints(sim: BridgeSimulator) -> None:
    state = requests.get(sim.url + "/_sim/state", timeout=5).json()
    assert [d["nuki_id"] for d in state["devices"]] == [FRONT, BACK, OPENER]
    assert state["devices"][0]["state_name"] == "locked"
    r = requests.post(sim.url + f"/_sim/door?nukiId={FRONT}&state=door_opened", timeout=5)
    assert r.json() == {"success": True}
    assert sim.device(FRONT).door_sensor == 3
    assert requests.post(sim.url + f"/_sim/door?nukiId={OPENER}&state=2", timeout=5).status_code == 400
    assert requests.post(sim.url + f"/_sim/door?nukiId={FRONT}&state=ajar", timeout=5).status_code == 400
    assert requests.post(sim.url + "/_sim/door?nukiId=5&state=2", timeout=5).status_code == 404
    assert requests.post(sim.url + f"/_sim/lockstate?nukiId={BACK}&state=unlocked", timeout=5).status_code == 200
    assert sim.device(BACK).state == 3
    assert requests.post(sim.url + f"/_sim/battery?nukiId={BACK}&charge=9&critical=1", timeout=5).status_code == 200
    assert (sim.device(BACK).battery_charge, sim.device(BACK).battery_critical) == (9, True)
    assert requests.post(sim.url + f"/_sim/ring?nukiId={OPENER}", timeout=5).status_code == 200
    assert sim.device(OPENER).ring_action_state is True
    assert requests.post(sim.url + f"/_sim/ring?nukiId={BACK}", timeout=5).status_code == 400
    assert requests.get(sim.url + "/_sim/button", timeout=5).status_code == 405
    assert requests.post(sim.url + "/_sim/button", timeout=5).status_code == 200
    assert sim.requests == []  # control calls are not bridge requests
