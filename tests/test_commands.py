"""Parsing of set payloads: every accepted form, and a clear rejection for everything else."""
from __future__ import annotations

import pytest

from nuki2mqtt.commands import MAX_PAYLOAD, ParsedCommand, RejectedCommand, parse_command


@pytest.mark.parametrize(
    ("payload", "opener", "action", "code"),
    [
        (b"lock", False, "lock", 2),
        (b"UNLOCK", False, "unlock", 1),
        (b"Unlatch", False, "unlatch", 3),
        (b"lock_n_go", False, "lock_n_go", 4),
        (b"lock_n_go_unlatch", False, "lock_n_go_unlatch", 5),
        (b"  lock\n", False, "lock", 2),
        (b"LOCK", False, "lock", 2),
        (b"OPEN", False, "unlatch", 3),
        (b"2", False, "lock", 2),
        (b"3", False, "unlatch", 3),
        (b"activate_rto", True, "activate_rto", 1),
        (b"deactivate_rto", True, "deactivate_rto", 2),
        (b"electric_strike_actuation", True, "electric_strike_actuation", 3),
        (b"activate_continuous_mode", True, "activate_continuous_mode", 4),
        (b"deactivate_continuous_mode", True, "deactivate_continuous_mode", 5),
        (b"LOCK", True, "deactivate_rto", 2),
        (b"UNLOCK", True, "activate_rto", 1),
        (b"OPEN", True, "electric_strike_actuation", 3),
        (b"4", True, "activate_continuous_mode", 4),
        (b'{"action": "unlock"}', False, "unlock", 1),
        (b'{"action": 2}', False, "lock", 2),
        (b'{"action": "OPEN"}', True, "electric_strike_actuation", 3),
    ],
)
def test_accepted_forms(payload: bytes, opener: bool, action: str, code: int) -> None:
    parsed = parse_command(payload, is_opener=opener)
    assert parsed == ParsedCommand(action=action, code=code)


def test_json_id_is_carried() -> None:
    parsed = parse_command(b'{"action": "lock", "id": "abc-1"}', is_opener=False)
    assert isinstance(parsed, ParsedCommand)
    assert parsed.correlation_id == "abc-1"


@pytest.mark.parametrize(
    ("payload", "opener", "raw", "fragment"),
    [
        (b"activate_rto", False, "activate_rto", "not valid for a lock"),
        (b"unlatch", True, "unlatch", "not valid for an opener"),
        (b"dance", False, "dance", "unknown action 'dance'"),
        (b"9", False, "9", "unknown action code 9"),
        (b"0", True, "0", "unknown action code 0"),
        (b"", False, "", "empty payload"),
        (b"{not json", False, "{not json", "invalid JSON"),
        (b"[1, 2]", False, "[1, 2]", "must be an object"),
        (b'{"id": 5}', False, '{"id": 5}', 'no "action" key'),
        (b'{"action": true}', False, "True", "unknown action"),
        (b'{"action": [1]}', False, "[1]", "must be a name or a number"),
        (b"\xff\xfe", False, "\ufffd\ufffd", "not UTF-8"),
    ],
)
def test_rejections_say_why(payload: bytes, opener: bool, raw: str, fragment: str) -> None:
    parsed = parse_command(payload, is_opener=opener)
    assert isinstance(parsed, RejectedCommand)
    assert parsed.action == raw
    assert fragment in parsed.error


def test_rejection_keeps_json_id() -> None:
    parsed = parse_command(b'{"action": "fly", "id": 7}', is_opener=False)
    assert isinstance(parsed, RejectedCommand) and parsed.correlation_id == 7


def test_oversized_payload_rejected() -> None:
    parsed = parse_command(b"x" * (MAX_PAYLOAD + 1), is_opener=False)
    assert isinstance(parsed, RejectedCommand) and "too long" in parsed.error


@pytest.mark.parametrize(
    ("payload", "opener", "opens"),
    [(b"unlatch", False, True), (b"lock_n_go_unlatch", False, True), (b"OPEN", True, True),
     (b"unlock", False, False), (b"lock_n_go", False, False), (b"activate_rto", True, False)],
)
def test_door_opening_actions_are_flagged(payload: bytes, opener: bool, opens: bool) -> None:
    parsed = parse_command(payload, is_opener=opener)
    assert isinstance(parsed, ParsedCommand) and parsed.opens_door is opens
