"""Clock difference helpers: parsing the bridge's time and the Date header, sign, wording, levels."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nuki2mqtt.onboarding.clock import (
    format_skew,
    parse_bridge_time,
    parse_http_date,
    skew,
    skew_level,
)

EPOCH_2018 = datetime(2018, 4, 1, 12, 10, 11, tzinfo=timezone.utc).timestamp()


def test_bridge_time_as_the_document_writes_it() -> None:
    assert parse_bridge_time("2018-04-01T12:10:11Z") == EPOCH_2018
    assert parse_bridge_time("2018-04-01T12:10:11+00:00") == EPOCH_2018
    assert parse_bridge_time("2018-04-01T12:10:11") == EPOCH_2018  # no zone: UTC, like every bridge time


@pytest.mark.parametrize("text", [None, "", "yesterday", "2018-13-01T00:00:00Z"])
def test_unreadable_bridge_time_is_none(text: str | None) -> None:
    assert parse_bridge_time(text) is None


def test_http_date() -> None:
    assert parse_http_date("Sun, 01 Apr 2018 12:10:11 GMT") == EPOCH_2018
    assert parse_http_date(None) is None
    assert parse_http_date("not a date") is None


def test_skew_is_bridge_minus_ours_from_the_middle_of_the_request() -> None:
    # sent at 100, answered at 102 (middle 101); the bridge said 145 (truncated: 145.5 on average)
    assert skew(145.0, 100.0, 102.0) == pytest.approx(44.5)
    assert skew(50.0, 100.0, 100.0) == pytest.approx(-49.5)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "+0 s"), (-0.4, "+0 s"), (45.4, "+45 s"), (-61, "-61 s"), (119, "+119 s"), (300, "+5 min"),
     (-3600, "-1.0 h"), (7200 + 1800, "+2.5 h"), (86400 * 3, "+3 days")],
)
def test_format_skew(seconds: float, text: str) -> None:
    assert format_skew(seconds) == text


@pytest.mark.parametrize(("seconds", "level"), [(0, "ok"), (30, "ok"), (-31, "warn"), (60, "warn"), (61, "fail"),
                                                (-3600, "fail")])
def test_skew_level(seconds: float, level: str) -> None:
    assert skew_level(seconds) == level
