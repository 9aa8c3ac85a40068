"""The simulator's shared state: the object the endpoints and the simulator's behaviour both use."""
from __future__ import annotations

import pytest

from nuki2mqtt.simulator import BridgeSimulator, default_devices
from nuki2mqtt.simulator.state import MAX_LOG_ENTRIES, BridgeState


def test_the_simulator_serves_its_public_views_from_its_state() -> None:
    sim = BridgeSimulator()
    state = sim.state
    front = default_devices()[0]
    with state.lock:
        state.callbacks.append("http://127.0.0.1:1/cb")
        state.auth_enabled = False
        state.busy_rejections = 3
    assert sim.callback_urls == ["http://127.0.0.1:1/cb"]
    assert (sim.auth_enabled, sim.busy_rejections) == (False, 3)
    assert state.device(front.nuki_id) is not sim.device(front.nuki_id)  # the view is a copy
    assert sim.state_json()["bridge"]["callbacks"] == ["http://127.0.0.1:1/cb"]


def test_device_raises_key_error_for_an_unpaired_id() -> None:
    with pytest.raises(KeyError):
        BridgeState(now=lambda: 0.0).device(1)


def test_log_event_stamps_with_the_bridge_clock_and_keeps_the_newest() -> None:
    state = BridgeState(now=lambda: 1_700_000_000.0)
    for index in range(MAX_LOG_ENTRIES + 1):
        state.log_event("callback", index=index)
    assert len(state.log) == MAX_LOG_ENTRIES
    assert state.log[0]["index"] == 1
    assert state.log[-1] == {"timestamp": "2023-11-14T22:13:20+00:00", "type": "callback", "index": MAX_LOG_ENTRIES}


def test_factory_reset_forgets_everything_and_enables_auth() -> None:
    state = BridgeState(now=lambda: 0.0)
    device = default_devices()[0]
    state.devices[device.nuki_id] = device
    state.unpaired.append(device)
    state.callbacks.append("http://127.0.0.1:1/cb")
    state.log_event("startup")
    state.auth_enabled = False
    state.factory_reset()
    assert (state.devices, state.unpaired, state.callbacks, list(state.log)) == ({}, [], [], [])
    assert state.auth_enabled
