"""The Bridge HTTP API's endpoints, served from a :class:`BridgeSimulator`'s state and settings.

Kept apart from the simulator so that what the bridge answers (this module) reads
separately from how it behaves over time (the simulator: the one-at-a-time rule,
actions, callbacks, reboots). Endpoints run with the request's token already checked.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nuki2mqtt.const import (
    MAX_CALLBACK_URL_LENGTH,
    MAX_CALLBACKS,
    BridgeType,
    DeviceType,
    LockAction,
)
from nuki2mqtt.simulator.devices import (
    SimDevice,
    action_steps,
    failed_steps,
    list_entry,
    lock_state_json,
    scan_result,
    simple_action_steps,
    zulu_timestamp,
)
from nuki2mqtt.simulator.params import int_param
from nuki2mqtt.simulator.reply import HttpError, Reply

if TYPE_CHECKING:
    from nuki2mqtt.simulator.bridge import BridgeSimulator

#: An endpoint: the request's parameters in, the answer out.
Endpoint = Callable[[dict[str, str]], Reply]


class BridgeApi:
    """One method per documented endpoint, on the simulator's state (under its lock).

    The simulator gives its settings and the behaviour that takes time (the button, an
    action's steps, a reboot); ``sim.state`` holds what the endpoints read and change.
    """

    def __init__(self, sim: BridgeSimulator) -> None:
        self._sim = sim
        self._state = sim.state

    def routes(self) -> dict[str, tuple[Endpoint, bool, bool]]:
        """path -> (endpoint, needs a token, hardware bridge only)."""
        return {
            "/auth": (self._ep_auth, False, False),
            "/configAuth": (self._ep_config_auth, True, False),
            "/list": (self._ep_list, True, False),
            "/lockState": (self._ep_lock_state, True, False),
            "/lockAction": (self._ep_lock_action, True, False),
            "/lock": (self._ep_simple_lock, True, False),
            "/unlock": (self._ep_simple_unlock, True, False),
            "/unpair": (self._ep_unpair, True, True),
            "/info": (self._ep_info, True, False),
            "/callback/add": (self._ep_callback_add, True, False),
            "/callback/list": (self._ep_callback_list, True, False),
            "/callback/remove": (self._ep_callback_remove, True, False),
            "/log": (self._ep_log, True, True),
            "/clearlog": (self._ep_clearlog, True, True),
            "/fwupdate": (self._ep_fwupdate, True, True),
            "/reboot": (self._ep_reboot, True, True),
            "/factoryReset": (self._ep_factory_reset, True, True),
        }

    def _ep_auth(self, params: dict[str, str]) -> Reply:
        sim = self._sim
        if not self._state.auth_enabled:
            return Reply(403)
        self._state.log_event("auth-started")
        if sim.wait_for_button(time.monotonic()):
            self._state.log_event("auth-granted")
            return Reply(200, {"token": sim.token, "success": True})
        return Reply(200, {"success": False})

    def _ep_config_auth(self, params: dict[str, str]) -> Reply:
        enable = params.get("enable")
        if enable not in ("0", "1"):
            raise HttpError(400, "enable must be 0 or 1")
        self._state.auth_enabled = enable == "1"
        return Reply(200, {"success": True})

    def _ep_list(self, params: dict[str, str]) -> Reply:
        now = self._sim.now()
        with self._state.lock:
            return Reply(200, [list_entry(d, now) for d in self._state.devices.values()])

    def _device_for(self, params: dict[str, str]) -> SimDevice:
        """The device a request names by nukiId and deviceType (default 0); 404 if not paired as that."""
        nuki_id = int_param(params, "nukiId", required=True)
        device_type = int_param(params, "deviceType", default=0, choices=[int(t) for t in DeviceType])
        with self._state.lock:
            device = self._state.devices.get(nuki_id or 0)
            if device is None or device.device_type != device_type:
                raise HttpError(404, "unknown device")
            return device

    def _check_reachable(self, device: SimDevice) -> None:
        state = self._state
        with state.lock:
            if device.offline:
                raise HttpError(503, "device offline")
            if state.actions_running:
                state.busy_rejections += 1
                raise HttpError(503, "busy with another device command")

    def _ep_lock_state(self, params: dict[str, str]) -> Reply:
        device = self._device_for(params)
        self._check_reachable(device)
        with self._state.lock:
            device.updated_at = self._sim.now()
            return Reply(200, lock_state_json(device))

    def _ep_lock_action(self, params: dict[str, str]) -> Reply:
        device = self._device_for(params)
        action = int_param(params, "action", required=True, choices=[int(a) for a in LockAction])
        nowait = int_param(params, "nowait", default=0, choices=(0, 1))
        self._check_reachable(device)
        with self._state.lock:
            try:
                steps = action_steps(device, action or 0)
            except (ValueError, KeyError):
                raise HttpError(400, "action not valid for this device") from None
        return self._perform(device, steps, bool(nowait), f"action {action}")

    def _ep_simple_lock(self, params: dict[str, str]) -> Reply:
        return self._simple(params, "lock")

    def _ep_simple_unlock(self, params: dict[str, str]) -> Reply:
        return self._simple(params, "unlock")

    def _simple(self, params: dict[str, str], name: str) -> Reply:
        device = self._device_for(params)
        self._check_reachable(device)
        with self._state.lock:
            steps = simple_action_steps(device, name)
        return self._perform(device, steps, False, name)

    def _perform(self, device: SimDevice, steps: list[tuple[int, int]], nowait: bool, what: str) -> Reply:
        sim, state = self._sim, self._state
        nuki_id = device.nuki_id
        with state.lock:
            jammed = nuki_id in state.jammed
            state.jammed.discard(nuki_id)
            if jammed:
                steps = failed_steps(device, steps)
            state.actions_running += 1
        state.log_event("lock-action", nukiId=nuki_id, action=what, nowait=nowait)

        def run() -> bool:
            try:
                return sim.run_steps(nuki_id, steps, jammed)
            finally:
                with state.lock:
                    state.actions_running -= 1

        if nowait:
            sim.spawn(run)
            success = True
        else:
            success = run()
        with state.lock:
            critical = device.battery_critical
        return Reply(200, {"success": success, "batteryCritical": critical})

    def _ep_unpair(self, params: dict[str, str]) -> Reply:
        state = self._state
        device = self._device_for(params)
        self._check_reachable(device)
        with state.lock:
            state.devices.pop(device.nuki_id, None)
            state.unpaired.append(device)
        state.log_event("unpair", nukiId=device.nuki_id)
        return Reply(200, {"success": True})

    def _ep_info(self, params: dict[str, str]) -> Reply:
        sim = self._sim
        hardware = sim.bridge_type is BridgeType.HARDWARE
        ids: dict[str, Any] = {"hardwareId": sim.hardware_id} if hardware else {}
        ids["serverId"] = sim.server_id
        if hardware:
            versions = {"firmwareVersion": sim.firmware_version, "wifiFirmwareVersion": sim.wifi_firmware_version}
        else:
            versions = {"appVersion": sim.firmware_version}
        state = self._state
        with state.lock:
            scans = [scan_result(d, i) for i, d in enumerate(state.devices.values())]
            offset = len(scans)
            scans += [scan_result(d, offset + i, paired=False) for i, d in enumerate(state.unpaired)]
        return Reply(
            200,
            {
                "bridgeType": int(sim.bridge_type),
                "ids": ids,
                "versions": versions,
                "uptime": int(state.uptime()),
                "currentTime": zulu_timestamp(sim.now()),
                "serverConnected": sim.server_connected,
                "scanResults": scans,
            },
        )

    def _ep_callback_add(self, params: dict[str, str]) -> Reply:
        state = self._state
        url = params.get("url", "").strip()
        if not url:
            raise HttpError(400, "url missing")
        if len(url) > MAX_CALLBACK_URL_LENGTH:
            raise HttpError(400, "url too long")
        if not url.lower().startswith("http://"):
            raise HttpError(400, "only http:// callback URLs")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise HttpError(400, "invalid url") from None
        if not parts.hostname:
            raise HttpError(400, "url without host")
        with state.lock:
            if url in state.callbacks:
                return Reply(200, {"success": False, "message": "callback already added"})
            if len(state.callbacks) >= MAX_CALLBACKS:
                return Reply(200, {"success": False, "message": "maximum number of callbacks reached"})
            state.callbacks.append(url)
        state.log_event("callback-added", url=url)
        return Reply(200, {"success": True})

    def _ep_callback_list(self, params: dict[str, str]) -> Reply:
        state = self._state
        with state.lock:
            return Reply(200, {"callbacks": [{"id": i, "url": u} for i, u in enumerate(state.callbacks)]})

    def _ep_callback_remove(self, params: dict[str, str]) -> Reply:
        state = self._state
        callback_id = int_param(params, "id", required=True)
        with state.lock:
            if callback_id is None or not 0 <= callback_id < len(state.callbacks):
                return Reply(200, {"success": False, "message": "no callback with this id"})
            url = state.callbacks.pop(callback_id)
        state.log_event("callback-removed", url=url)
        return Reply(200, {"success": True})

    def _ep_log(self, params: dict[str, str]) -> Reply:
        offset = int_param(params, "offset", default=0)
        count = int_param(params, "count", default=100)
        if (offset or 0) < 0 or (count or 0) < 0:
            raise HttpError(400, "offset and count must not be negative")
        with self._state.lock:
            newest_first = list(reversed(self._state.log))
        return Reply(200, newest_first[offset or 0 : (offset or 0) + (count or 0)])

    def _ep_clearlog(self, params: dict[str, str]) -> Reply:
        with self._state.lock:
            self._state.log.clear()
        return Reply(200)

    def _ep_fwupdate(self, params: dict[str, str]) -> Reply:
        scope = int_param(params, "scope", default=0, choices=(0, 1, 2))
        target = None
        if params.get("nukiId", "").strip():
            target = self._device_for(params).nuki_id
        self._state.log_event("fwupdate", scope=scope, **({"nukiId": target} if target is not None else {}))
        return Reply(200)

    def _ep_reboot(self, params: dict[str, str]) -> Reply:
        sim = self._sim
        self._state.log_event("reboot")
        return Reply(200, after=lambda: sim.spawn(sim.reboot))

    def _ep_factory_reset(self, params: dict[str, str]) -> Reply:
        sim, state = self._sim, self._state

        def reset_and_reboot() -> None:
            state.factory_reset()
            sim.spawn(sim.reboot)

        return Reply(200, after=reset_and_reboot)
