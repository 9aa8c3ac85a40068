"""The ``/_sim/*`` control endpoints (listed in :mod:`nuki2mqtt.simulator.bridge`).

They give another process (the demo, a test driving ``nuki2mqtt simulate``) the
simulator's physical-world methods over HTTP: no token, no one-at-a-time rule, no record.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nuki2mqtt.const import DoorSensorState, LockState, OpenerState
from nuki2mqtt.simulator.params import bool_param, enum_param, int_param, parse_query
from nuki2mqtt.simulator.reply import HttpError, Reply

if TYPE_CHECKING:
    from nuki2mqtt.simulator.bridge import BridgeSimulator


def handle_control(sim: BridgeSimulator, method: str, path: str, query: str) -> Reply:
    try:
        params = parse_query(query)
    except ValueError:
        return Reply(400)
    if path == "/_sim/state":
        return Reply(200, sim.state_json()) if method == "GET" else Reply(405)
    actions: dict[str, Callable[[dict[str, str]], None]] = {
        "/_sim/button": lambda p: sim.press_button(),
        "/_sim/ring": lambda p: sim.ring(_control_id(sim, p)),
        "/_sim/door": lambda p: sim.set_door_sensor(
            _control_id(sim, p), enum_param(DoorSensorState, p.get("state", ""))
        ),
        "/_sim/lockstate": lambda p: _control_lock_state(sim, p),
        "/_sim/battery": lambda p: sim.set_battery(
            _control_id(sim, p),
            charge=int_param(p, "charge", choices=range(101)),
            critical=bool_param(p, "critical"),
            charging=bool_param(p, "charging"),
            keypad_critical=bool_param(p, "keypadCritical"),
        ),
    }
    action = actions.get(path)
    if action is None:
        return Reply(404)
    if method != "POST":
        return Reply(405)
    try:
        action(params)
    except HttpError as exc:
        return Reply(exc.status)
    except KeyError:
        return Reply(404)
    except ValueError:
        return Reply(400)
    return Reply(200, {"success": True})


def _control_id(sim: BridgeSimulator, params: dict[str, str]) -> int:
    nuki_id = int_param(params, "nukiId", required=True) or 0
    with sim.state.lock:
        if nuki_id not in sim.state.devices:
            raise HttpError(404, "unknown device")
    return nuki_id


def _control_lock_state(sim: BridgeSimulator, params: dict[str, str]) -> None:
    nuki_id = _control_id(sim, params)
    with sim.state.lock:
        enum = OpenerState if sim.state.devices[nuki_id].is_opener else LockState
    sim.set_lock_state(nuki_id, enum_param(enum, params.get("state", "")))
