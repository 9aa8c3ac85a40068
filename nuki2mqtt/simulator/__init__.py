"""The built-in Nuki Bridge simulator: the demo, the gateway tests and the benchmarks run on it.

See :mod:`nuki2mqtt.simulator.bridge` for the behaviour and the control endpoints, and
:mod:`nuki2mqtt.simulator.devices` for the devices file format.
"""
from __future__ import annotations

from nuki2mqtt.simulator.bridge import BridgeSimulator, RequestRecord
from nuki2mqtt.simulator.devices import (
    DeviceFileError,
    SimDevice,
    default_devices,
    load_devices,
)

__all__ = [
    "BridgeSimulator",
    "DeviceFileError",
    "RequestRecord",
    "SimDevice",
    "default_devices",
    "load_devices",
]
