"""The three token modes over HTTP, clock skew, replays, and requests signed by pynuki."""
from __future__ import annotations

import time

import pynuki
import pynuki.utils
import pytest
import requests

from nuki2mqtt.simulator import BridgeSimulator
from tests.simulator.helpers import BACK, FRONT, TOKEN, call, encrypted, hashed, plain, utc_ts

ENDPOINTS = [
    ("/list", {}),
    ("/info", {}),
    ("/lockState", {"nukiId": BACK}),
    ("/lockAction", {"nukiId": BACK, "action": 2}),
    ("/lock", {"nukiId": BACK}),
    ("/unlock", {"nukiId": BACK}),
    ("/callback/list", {}),
    ("/log", {}),
    ("/configAuth", {"enable": 1}),
]


@pytest.mark.parametrize("sign", [plain, hashed, encrypted])
@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
def test_every_mode_on_every_endpoint(sim: BridgeSimulator, sign, path: str, params: dict) -> None:
    assert call(sim.url, path, auth=sign(), **params).status_code == 200


@pytest.mark.parametrize("sign", [plain, hashed, encrypted])
def test_wrong_token_is_401(sim: BridgeSimulator, sign) -> None:
    r = call(sim.url, "/list", auth=sign("wrong-token"))
    assert r.status_code == 401
    assert r.text == "HTTP 401 Unauthorized"


@pytest.mark.parametrize("sign", [hashed, encrypted])
def test_timestamp_outside_the_window_is_401(sim: BridgeSimulator, sign) -> None:
    assert call(sim.url, "/list", auth=sign(ts=utc_ts(time.time() - 90))).status_code == 401
    assert call(sim.url, "/list", auth=sign(ts=utc_ts(time.time() + 90))).status_code == 401
    sim.clock_offset = -90.0  # the bridge's clock is 90 s behind this machine's
    assert call(sim.url, "/list", auth=sign()).status_code == 401
    assert call(sim.url, "/list", auth=sign(ts=utc_ts(time.time() - 90))).status_code == 200
    assert call(sim.url, "/list", auth=plain()).status_code == 200  # the plain token has no time


def test_injected_clock_decides_the_window() -> None:
    fixed = 1_600_000_000.0
    with BridgeSimulator(token=TOKEN, clock=lambda: fixed) as s:
        assert call(s.url, "/list", auth=hashed(ts=utc_ts(fixed - 30))).status_code == 200
        assert call(s.url, "/list", auth=encrypted(ts=utc_ts(fixed + 30))).status_code == 200
        assert call(s.url, "/list", auth=hashed()).status_code == 401  # "now" is years away
        assert call(s.url, "/info").json()["currentTime"] == "2020-09-13T12:26:40Z"


@pytest.mark.parametrize("sign", [hashed, encrypted])
def test_replay_is_401(sim: BridgeSimulator, sign) -> None:
    auth = sign()
    assert call(sim.url, "/list", auth=auth).status_code == 200
    assert call(sim.url, "/list", auth=auth).status_code == 401
    assert call(sim.url, "/info", auth=auth).status_code == 401  # on any endpoint


def test_document_example_urls_are_accepted_at_their_time() -> None:
    doc_time = 1551748013.0  # 2019-03-05T01:06:53Z
    with BridgeSimulator(token="123456", clock=lambda: doc_time + 5) as s:
        hashed_url = (s.url + "/info?ts=2019-03-05T01:06:53Z&rnr=4711"
                      "&hash=f52eb5ce382e356c4239f8fb4d0a87402bb95b7b3124f0762b806ad7d0d01cb6")
        encrypted_url = (s.url + "/info?ctoken=a7f6b4df6758b92445bd5470b755b43ba41cf50af8b3f6e19368348ddfb1686291555"
                         "dfd90b31f9333&nonce=119c38fb6d7d707b8a45f14e688b74b8c4c1acf33643c71a")
        assert requests.get(hashed_url, timeout=5).status_code == 200
        assert requests.get(encrypted_url, timeout=5).status_code == 200
        assert requests.get(hashed_url, timeout=5).status_code == 401  # single use
        assert requests.get(encrypted_url, timeout=5).status_code == 401


def test_pynuki_encrypted_token_is_accepted(sim: BridgeSimulator) -> None:
    auth = pynuki.utils.encrypt_token(pynuki.utils.sha256sum(TOKEN))
    assert set(auth) == {"ctoken", "nonce"}
    assert call(sim.url, "/list", auth=auth).status_code == 200
    wrong = pynuki.utils.encrypt_token(pynuki.utils.sha256sum("other"))
    assert call(sim.url, "/list", auth=wrong).status_code == 401


def test_pynuki_bridge_talks_to_the_simulator(sim: BridgeSimulator) -> None:
    bridge = pynuki.NukiBridge(hostname="127.0.0.1", port=sim.port, token=TOKEN, secure=True)
    info = bridge.info()
    assert info["bridgeType"] == 1 and info["ids"]["serverId"] == sim.server_id
    names = [d["name"] for d in bridge.list()]
    assert names == ["Front door", "Back door", "Community door"]
    result = bridge.lock_action(FRONT, 1, device_type=4, block=True)
    assert result == {"success": True, "batteryCritical": False}
    assert sim.device(FRONT).state == 3
    assert bridge.lock_state(FRONT, device_type=4)["stateName"] == "unlocked"
    assert bridge.callback_add("http://127.0.0.1:9/cb")["success"] is True
    assert bridge.callback_list() == {"callbacks": [{"id": 0, "url": "http://127.0.0.1:9/cb"}]}
    with pytest.raises(pynuki.bridge.InvalidCredentialsException):
        pynuki.NukiBridge(hostname="127.0.0.1", port=sim.port, token="wrong", secure=True)
