"""BridgeClient against the real bridge simulator, every endpoint in every token mode."""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterator, TypeVar

import pytest

from nuki2mqtt.bridge import BridgeClient
from nuki2mqtt.bridge.errors import (
    BadRequestError,
    BridgeBusyError,
    BridgeConnectionError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from nuki2mqtt.const import (
    BridgeType,
    DeviceType,
    DoorSensorState,
    LockAction,
    LockState,
    OpenerAction,
    OpenerState,
    TokenMode,
)
from nuki2mqtt.simulator import BridgeSimulator

TOKEN = "simT0ken42"
FRONT, BACK, OPENER = 0x1A2B3C4D, 0x2B3C4D5E, 0x3C4D5E6F
MODES = [TokenMode.PLAIN, TokenMode.HASHED, TokenMode.ENCRYPTED]
#: What the simulator's records keep of each mode's token parameters (it strips token, hash, ctoken, nonce).
RECORDED_TOKEN_KEYS = {TokenMode.PLAIN: set(), TokenMode.HASHED: {"ts", "rnr"}, TokenMode.ENCRYPTED: set()}
_T = TypeVar("_T")


def wait_for(predicate: Callable[[], _T], timeout: float = 3.0) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, "condition not reached in time"
            return value
        time.sleep(0.01)


def state_of(client: BridgeClient, nuki_id: int) -> int | None:
    return next(e.last_known_state.state for e in client.list() if e.nuki_id == nuki_id)


@pytest.fixture
def sim() -> Iterator[BridgeSimulator]:
    with BridgeSimulator(token=TOKEN, action_duration=0.02, reboot_duration=0.05) as simulator:
        yield simulator


@pytest.fixture(params=MODES, ids=[m.value for m in MODES])
def mode(request: pytest.FixtureRequest) -> TokenMode:
    return request.param


@pytest.fixture
def client(sim: BridgeSimulator, mode: TokenMode) -> Iterator[BridgeClient]:
    with BridgeClient(sim.host, sim.port, TOKEN, mode, timeout=2.0, action_timeout=5.0) as bridge_client:
        yield bridge_client


# -- every endpoint, every token mode ---------------------------------------------------


def test_list(client: BridgeClient, sim: BridgeSimulator, mode: TokenMode) -> None:
    entries = {e.nuki_id: e for e in client.list()}
    assert set(entries) == {FRONT, BACK, OPENER}
    front = entries[FRONT]
    assert (front.device_type, front.name) == (DeviceType.SMARTLOCK3, "Front door")
    assert front.last_known_state.state == LockState.LOCKED
    assert front.last_known_state.doorsensor_state == DoorSensorState.DOOR_CLOSED
    assert front.last_known_state.keypad_battery_critical is False
    assert entries[BACK].device_type == DeviceType.SMARTLOCK
    assert entries[OPENER].device_type == DeviceType.OPENER
    assert entries[OPENER].last_known_state.state == OpenerState.ONLINE
    record = sim.requests[-1]
    assert (record.path, record.status) == ("/list", 200)
    assert set(record.params) == RECORDED_TOKEN_KEYS[mode]


def test_lock_state(client: BridgeClient, sim: BridgeSimulator) -> None:
    result = client.lock_state(FRONT, DeviceType.SMARTLOCK3)
    assert result.success
    assert result.state.state == LockState.LOCKED
    assert result.state.battery_charge_state == 85
    params = {k: v for k, v in sim.requests[-1].params.items() if k not in ("ts", "rnr")}
    assert params == {"nukiId": str(FRONT), "deviceType": "4"}


def test_lock_action_waits_for_the_outcome(client: BridgeClient) -> None:
    result = client.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK)
    assert result.success and result.battery_critical is False
    assert state_of(client, FRONT) == LockState.UNLOCKED
    assert client.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.LOCK).success
    assert state_of(client, FRONT) == LockState.LOCKED


def test_lock_action_nowait(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.set_action_duration(0.2)
    started = time.monotonic()
    result = client.lock_action(BACK, DeviceType.SMARTLOCK, LockAction.UNLOCK, nowait=True)
    assert result.success
    assert time.monotonic() - started < 0.2
    assert sim.requests[-1].params["nowait"] == "1"
    assert state_of(client, BACK) == LockState.UNLOCKING  # served from the cache meanwhile
    wait_for(lambda: state_of(client, BACK) == LockState.UNLOCKED)


def test_simple_lock_and_unlock(client: BridgeClient) -> None:
    assert client.unlock(BACK, DeviceType.SMARTLOCK).success
    assert state_of(client, BACK) == LockState.UNLOCKED
    assert client.lock(BACK, DeviceType.SMARTLOCK).success
    assert state_of(client, BACK) == LockState.LOCKED


def test_opener_actions(client: BridgeClient) -> None:
    assert client.lock_action(OPENER, DeviceType.OPENER, OpenerAction.ACTIVATE_RTO).success
    assert state_of(client, OPENER) == OpenerState.RTO_ACTIVE
    assert client.lock(OPENER, DeviceType.OPENER).success
    assert state_of(client, OPENER) == OpenerState.ONLINE


def test_unpair(client: BridgeClient) -> None:
    assert client.unpair(BACK, DeviceType.SMARTLOCK) is True
    assert BACK not in {e.nuki_id for e in client.list()}
    with pytest.raises(NotFoundError):
        client.lock_state(BACK, DeviceType.SMARTLOCK)


def test_info(client: BridgeClient, sim: BridgeSimulator) -> None:
    info = client.info()
    assert info.bridge_type == BridgeType.HARDWARE
    assert info.server_id == sim.server_id
    assert info.hardware_id == sim.hardware_id
    assert info.firmware == sim.firmware_version
    assert info.server_connected is True
    assert {s.nuki_id for s in info.scan_results} == {FRONT, BACK, OPENER}
    assert info.raw["ids"]["serverId"] == sim.server_id


def test_callbacks_add_list_remove(client: BridgeClient, sim: BridgeSimulator) -> None:
    urls = [f"http://127.0.0.1:{9000 + i}/nuki" for i in range(3)]
    for url in urls:
        client.callback_add(url)
    assert [(c.id, c.url) for c in client.callback_list()] == list(enumerate(urls))
    with pytest.raises(BadRequestError, match="maximum number of callbacks"):
        client.callback_add("http://127.0.0.1:9999/nuki")
    with pytest.raises(BadRequestError, match="already added"):
        client.callback_add(urls[0])
    client.callback_remove(0)
    assert [(c.id, c.url) for c in client.callback_list()] == [(0, urls[1]), (1, urls[2])]
    with pytest.raises(BadRequestError, match="no callback with this id"):
        client.callback_remove(5)
    assert sim.callback_urls == urls[1:]


def test_callback_add_refuses_https_with_400(client: BridgeClient) -> None:
    with pytest.raises(BadRequestError):
        client.callback_add("https://127.0.0.1/nuki")
    assert client.callback_list() == []


def test_log_and_clear_log(client: BridgeClient) -> None:
    client.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK)
    entries = client.log()
    assert entries and all("timestamp" in e and "type" in e for e in entries)
    assert len(client.log(offset=0, count=1)) == 1
    client.clear_log()
    assert client.log() == []


def test_fwupdate(client: BridgeClient, sim: BridgeSimulator) -> None:
    client.fwupdate()
    client.fwupdate(scope=2, nuki_id=FRONT, device_type=DeviceType.SMARTLOCK3)
    assert {k: v for k, v in sim.requests[-1].params.items() if k not in ("ts", "rnr")} == {
        "scope": "2",
        "nukiId": str(FRONT),
        "deviceType": "4",
    }
    with pytest.raises(NotFoundError):
        client.fwupdate(nuki_id=0x7FFFFFFF, device_type=0)


def test_reboot(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.reboot_duration = 0.3
    client.callback_add("http://127.0.0.1:9000/nuki")
    client.reboot()
    wait_for(lambda: not sim.is_up)
    with pytest.raises(BridgeConnectionError):
        client.list()
    wait_for(lambda: sim.is_up)
    assert [c.url for c in client.callback_list()] == ["http://127.0.0.1:9000/nuki"]


def test_factory_reset(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.reboot_duration = 0.3
    client.callback_add("http://127.0.0.1:9000/nuki")
    client.factory_reset()
    wait_for(lambda: not sim.is_up)
    wait_for(lambda: sim.is_up)
    assert client.list() == []
    assert client.callback_list() == []


def test_config_auth_and_auth(client: BridgeClient, sim: BridgeSimulator) -> None:
    assert client.config_auth(False) is True
    assert sim.auth_enabled is False
    with pytest.raises(ForbiddenError):
        client.auth()
    assert client.config_auth(True) is True
    pressed = threading.Timer(0.05, sim.press_button)
    pressed.start()
    result = client.auth(timeout=5.0)
    pressed.join()
    assert result.success and result.token == TOKEN
    auth_record = next(r for r in sim.requests if r.path == "/auth")
    assert auth_record.params == {}


def test_auth_without_button() -> None:
    with BridgeSimulator(token=TOKEN, auth_window=0.1) as short:
        with BridgeClient(short.host, short.port) as anonymous:
            result = anonymous.auth(timeout=2.0)
    assert not result.success and result.token is None


# -- error mapping ------------------------------------------------------------------------


def test_wrong_token_is_401(sim: BridgeSimulator, mode: TokenMode) -> None:
    with BridgeClient(sim.host, sim.port, "wrong-token", mode) as wrong:
        with pytest.raises(UnauthorizedError) as info:
            wrong.list()
    assert "wrong-token" not in str(info.value) and TOKEN not in str(info.value)
    assert sim.requests[-1].status == 401


def test_missing_token_is_401(sim: BridgeSimulator) -> None:
    with BridgeClient(sim.host, sim.port, None) as tokenless, pytest.raises(UnauthorizedError):
        tokenless.info()


def test_hashed_and_encrypted_tokens_work_with_a_skewed_clock_inside_the_window(
    sim: BridgeSimulator, mode: TokenMode
) -> None:
    sim.clock_offset = 50.0
    with BridgeClient(sim.host, sim.port, TOKEN, mode) as skewed:
        assert skewed.list()
    sim.clock_offset = 120.0
    with BridgeClient(sim.host, sim.port, TOKEN, mode) as skewed:
        if mode is TokenMode.PLAIN:
            assert skewed.list()
        else:
            with pytest.raises(UnauthorizedError):
                skewed.list()


def test_unknown_device_is_404(client: BridgeClient) -> None:
    with pytest.raises(NotFoundError):
        client.lock_state(0x7FFFFFFF, DeviceType.SMARTLOCK)
    with pytest.raises(NotFoundError):
        client.lock_action(FRONT, DeviceType.SMARTLOCK, LockAction.LOCK)  # right id, wrong type


def test_invalid_action_is_400(client: BridgeClient) -> None:
    with pytest.raises(BadRequestError):
        client.lock_action(FRONT, DeviceType.SMARTLOCK3, 9)


def test_second_client_during_a_waiting_action_gets_503(sim: BridgeSimulator, mode: TokenMode) -> None:
    sim.set_action_duration(0.3)
    first = BridgeClient(sim.host, sim.port, TOKEN, mode, action_timeout=5.0)
    second = BridgeClient(sim.host, sim.port, TOKEN, mode)
    outcome: list[bool] = []
    worker = threading.Thread(
        target=lambda: outcome.append(first.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK).success)
    )
    worker.start()
    try:
        wait_for(lambda: any(r.path == "/lockAction" and r.status == 0 for r in sim.requests))
        with pytest.raises(BridgeBusyError) as info:
            second.list()
        assert info.value.retryable
    finally:
        worker.join(timeout=5)
        first.close()
        second.close()
    assert outcome == [True]


def test_nowait_action_running_makes_device_calls_503(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.set_action_duration(0.3)
    client.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK, nowait=True)
    with pytest.raises(BridgeBusyError):
        client.lock_state(BACK, DeviceType.SMARTLOCK)
    assert client.list()  # the cache is still served


def test_injected_503s_are_not_retried(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.inject_errors(status=503, count=2)
    before = len(sim.requests)
    for _ in range(2):
        with pytest.raises(BridgeBusyError):
            client.list()
    assert len(sim.requests) - before == 2
    assert client.list()


def test_offline_device_is_503(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.set_device_offline(BACK)
    with pytest.raises(BridgeBusyError):
        client.lock_action(BACK, DeviceType.SMARTLOCK, LockAction.UNLOCK)


def test_bridge_down_is_connection_error_and_comes_back(client: BridgeClient, sim: BridgeSimulator) -> None:
    assert client.list()
    sim.go_down()
    with pytest.raises(BridgeConnectionError) as info:
        client.list()
    assert info.value.retryable
    sim.come_back()
    assert client.list()


def test_jammed_action_reports_failure(client: BridgeClient, sim: BridgeSimulator) -> None:
    sim.fail_next_action(FRONT)
    assert client.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK).success is False
    assert state_of(client, FRONT) == LockState.MOTOR_BLOCKED


# -- software bridge ----------------------------------------------------------------------


@pytest.fixture
def software(mode: TokenMode) -> Iterator[BridgeClient]:
    with BridgeSimulator(token=TOKEN, bridge_type=BridgeType.SOFTWARE, action_duration=0.02) as simulator:
        with BridgeClient(simulator.host, simulator.port, TOKEN, mode) as bridge_client:
            yield bridge_client


def test_software_bridge_serves_the_api(software: BridgeClient) -> None:
    info = software.info()
    assert info.bridge_type == BridgeType.SOFTWARE
    assert info.hardware_id is None and info.firmware_version is None
    assert info.firmware == info.app_version is not None
    assert len(software.list()) == 3
    assert software.lock_action(FRONT, DeviceType.SMARTLOCK3, LockAction.UNLOCK).success


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.log(),
        lambda c: c.clear_log(),
        lambda c: c.fwupdate(),
        lambda c: c.reboot(),
        lambda c: c.factory_reset(),
        lambda c: c.unpair(FRONT, DeviceType.SMARTLOCK3),
    ],
    ids=["log", "clearlog", "fwupdate", "reboot", "factoryReset", "unpair"],
)
def test_software_bridge_has_no_maintenance_endpoints(
    software: BridgeClient, call: Callable[[BridgeClient], object]
) -> None:
    with pytest.raises(NotFoundError):
        call(software)
