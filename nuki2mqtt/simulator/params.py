"""Query parameters as the bridge reads them: a bad value is a 400 (:class:`HttpError`), not a crash."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from nuki2mqtt.const import LabelledEnum
from nuki2mqtt.simulator.reply import HttpError

_INT_RE = re.compile(r"-?\d{1,10}")


def parse_query(query: str) -> dict[str, str]:
    """Query parameters, last value wins; ValueError on a malformed query."""
    pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=64)
    return dict(pairs)


def int_param(
    params: Mapping[str, str],
    name: str,
    *,
    default: int | None = None,
    required: bool = False,
    choices: Iterable[int] | None = None,
) -> int | None:
    """An integer parameter; blank counts as absent (the document's own example sends ``deviceType=``)."""
    raw = params.get(name, "").strip()
    if not raw:
        if required:
            raise HttpError(400, f"{name} missing")
        return default
    if not _INT_RE.fullmatch(raw):
        raise HttpError(400, f"{name} is not an integer")
    value = int(raw)
    if choices is not None and value not in set(choices):
        raise HttpError(400, f"{name} {value} not allowed")
    return value


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true"):
        return True
    if raw in ("0", "false"):
        return False
    raise HttpError(400, f"{name} must be 0 or 1")


def enum_param(enum: type[LabelledEnum], raw: str) -> int:
    raw = raw.strip()
    if _INT_RE.fullmatch(raw):
        try:
            return int(enum(int(raw)))
        except ValueError:
            raise HttpError(400, f"{raw} is not a valid state") from None
    member = enum.__members__.get(raw.upper().replace(" ", "_"))
    if member is None:
        raise HttpError(400, f"{raw} is not a valid state")
    return int(member)
