"""Protocol numbers of the Nuki Bridge API and Web API, in one place.

Member names are the snake_case names that ../shared/CONTRACT.md publishes on MQTT
(``LockState.UNLOCKED_LOCK_N_GO.label == "unlocked_lock_n_go"``), so mapping code
never spells a protocol name twice.
"""
from __future__ import annotations

from enum import Enum, IntEnum


class LabelledEnum(IntEnum):
    """An IntEnum whose MQTT name is its lower-cased member name."""

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def label_of(cls, value: int | None) -> str | None:
        """The MQTT name of ``value``; None when absent, ``undefined``/``unknown`` guessing is the caller's."""
        if value is None:
            return None
        try:
            return cls(value).label
        except ValueError:
            return None


class DeviceType(LabelledEnum):
    """Device types as the Bridge API numbers them (``deviceType``)."""

    SMARTLOCK = 0  # Smart Lock 1.0 / 2.0
    OPENER = 2
    SMARTDOOR = 3
    SMARTLOCK3 = 4  # Smart Lock 3.0 / 4.0 (Pro)

    @property
    def is_opener(self) -> bool:
        return self is DeviceType.OPENER


class WebDeviceType(LabelledEnum):
    """Device types as the Web API numbers them (``type``, and the smartlockId prefix)."""

    SMARTLOCK = 0
    BOX = 1
    OPENER = 2
    SMARTDOOR = 3
    SMARTLOCK3 = 4
    SMARTLOCK_ULTRA = 5


class Mode(LabelledEnum):
    DOOR_MODE = 2
    CONTINUOUS_MODE = 3


class LockState(LabelledEnum):
    """Lock states of smart locks and the Smart Door."""

    UNCALIBRATED = 0
    LOCKED = 1
    UNLOCKING = 2
    UNLOCKED = 3
    LOCKING = 4
    UNLATCHED = 5
    UNLOCKED_LOCK_N_GO = 6
    UNLATCHING = 7
    MOTOR_BLOCKED = 254
    UNDEFINED = 255


class OpenerState(LabelledEnum):
    UNTRAINED = 0
    ONLINE = 1
    RTO_ACTIVE = 3
    OPEN = 5
    OPENING = 7
    BOOT_RUN = 253
    UNDEFINED = 255


class DoorSensorState(LabelledEnum):
    """Door sensor states; the Web API's ``doorState`` 0 means the device has none."""

    UNAVAILABLE = 0
    DEACTIVATED = 1
    DOOR_CLOSED = 2
    DOOR_OPENED = 3
    DOOR_STATE_UNKNOWN = 4
    CALIBRATING = 5
    UNCALIBRATED = 16
    REMOVED = 240
    UNKNOWN = 255


class LockAction(LabelledEnum):
    UNLOCK = 1
    LOCK = 2
    UNLATCH = 3
    LOCK_N_GO = 4
    LOCK_N_GO_UNLATCH = 5


class OpenerAction(LabelledEnum):
    """Opener actions on the bridge. The Web API uses 6/7 for continuous mode."""

    ACTIVATE_RTO = 1
    DEACTIVATE_RTO = 2
    ELECTRIC_STRIKE_ACTUATION = 3
    ACTIVATE_CONTINUOUS_MODE = 4
    DEACTIVATE_CONTINUOUS_MODE = 5


class WebOpenerAction(LabelledEnum):
    ACTIVATE_RTO = 1
    DEACTIVATE_RTO = 2
    ELECTRIC_STRIKE_ACTUATION = 3
    ACTIVATE_CONTINUOUS_MODE = 6
    DEACTIVATE_CONTINUOUS_MODE = 7


#: Actions that open the door: never retried automatically.
DOOR_OPENING_ACTIONS: frozenset[str] = frozenset(
    {"unlatch", "lock_n_go_unlatch", "electric_strike_actuation"}
)


class BridgeType(LabelledEnum):
    HARDWARE = 1
    SOFTWARE = 2


class TokenMode(str, Enum):
    """How the bridge token is sent with each request (see NOTES.md)."""

    PLAIN = "plain"
    HASHED = "hashed"
    ENCRYPTED = "encrypted"


class WebServerState(IntEnum):
    ONLINE = 0
    OFFLINE = 4


#: Where Nuki publishes the bridges seen from the caller's public address.
DEFAULT_DISCOVERY_URL = "https://api.nuki.io/discover/bridges"
DEFAULT_BRIDGE_PORT = 8080

#: Callback limits of the bridge firmware.
MAX_CALLBACKS = 3
MAX_CALLBACK_URL_LENGTH = 254


def format_device_id(nuki_id: int) -> str:
    """The contract's device id: the Nuki ID as 8 uppercase hex digits."""
    return f"{nuki_id:08X}"


def web_smartlock_id(nuki_id: int, web_type: WebDeviceType) -> int:
    """Web API ``smartlockId`` = int("<prefix><nukiId as 8 hex digits>", 16); type 0 has no prefix."""
    return (int(web_type) << 32) | nuki_id


def nuki_id_from_smartlock_id(smartlock_id: int) -> int:
    """Inverse of :func:`web_smartlock_id`: the low 32 bits are the Nuki ID."""
    return smartlock_id & 0xFFFFFFFF
