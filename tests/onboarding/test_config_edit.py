"""Writing a token into a config file: comments and layout stay, the file still loads."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nuki2mqtt.config import load_config
from nuki2mqtt.const import TokenMode
from nuki2mqtt.onboarding.config_edit import (
    ADDED,
    CREATED,
    FROM_ENV,
    UNCHANGED,
    UPDATED,
    ConfigEditError,
    edit_text,
    quote,
    write_token,
)

REPO = Path(__file__).resolve().parents[2]

WITH_ENTRY = """\
# my nuki2mqtt   (a comment at the top)
mqtt:
  host: broker.lan   # the broker
bridges:
  - host: 192.168.1.50    # hallway bridge
    port: 8080
    token: oldtoken   # from the app
    token_mode: hashed
  # - host: 192.168.1.99   (commented out)
server:
  port: 8321   # callbacks
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_existing_entry_gets_the_new_token_and_nothing_else_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "config.yaml", WITH_ENTRY)
    edit = write_token(path, "192.168.1.50", 8080, "a1b2c3d4e5f6")
    assert (edit.action, edit.index, edit.env_var) == (UPDATED, 0, None)
    assert path.read_text() == WITH_ENTRY.replace("token: oldtoken   #", "token: a1b2c3d4e5f6   #")
    config = load_config(path, env={})
    assert config.bridges[0].token == "a1b2c3d4e5f6"
    assert config.bridges[0].token_mode is TokenMode.HASHED  # the user's choice stays


def test_new_entry_is_appended_to_the_list_in_its_style(tmp_path: Path) -> None:
    path = write(tmp_path / "config.yaml", WITH_ENTRY)
    edit = write_token(path, "192.168.1.51", 8081, "123456")
    assert (edit.action, edit.index) == (ADDED, 1)
    text = path.read_text()
    assert text.startswith(WITH_ENTRY.split("  # - host")[0])  # everything before the insertion is unchanged
    assert (
        "    token_mode: hashed\n"
        "  - host: 192.168.1.51\n"
        "    port: 8081\n"
        '    token: "123456"\n'  # quoted: unquoted it would read as a number
        "    token_mode: encrypted\n"
        "  # - host: 192.168.1.99   (commented out)\n"
    ) in text
    assert text.endswith("server:\n  port: 8321   # callbacks\n")
    config = load_config(path, env={})
    assert [(b.host, b.port, b.token) for b in config.bridges] == [
        ("192.168.1.50", 8080, "oldtoken"), ("192.168.1.51", 8081, "123456")
    ]


def test_same_host_other_port_is_another_bridge(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", WITH_ENTRY)
    assert write_token(path, "192.168.1.50", 8090, "tok").action == ADDED
    assert len(load_config(path, env={}).bridges) == 2


def test_default_port_matches_an_entry_without_port(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "bridges:\n- host: Bridge.lan\n  token: x\n")
    assert write_token(path, "bridge.lan", 8080, "newtoken").action == UPDATED
    assert path.read_text() == "bridges:\n- host: Bridge.lan\n  token: newtoken\n"


def test_entry_without_token_gets_one(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "bridges:\n  - host: 10.0.0.2\n    poll_interval: 10\nlog_level: info\n")
    assert write_token(path, "10.0.0.2", 8080, "tok123abc").action == UPDATED
    assert path.read_text() == (
        "bridges:\n  - host: 10.0.0.2\n    poll_interval: 10\n    token: tok123abc\nlog_level: info\n"
    )
    assert load_config(path, env={}).bridges[0].poll_interval == 10


def test_empty_token_value_is_filled(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "bridges:\n  - host: 10.0.0.2\n    token:   # paste it here\n")
    write_token(path, "10.0.0.2", 8080, "tok123abc")
    assert path.read_text() == "bridges:\n  - host: 10.0.0.2\n    token: tok123abc   # paste it here\n"


def test_env_reference_is_left_alone(tmp_path: Path) -> None:
    example = (REPO / "config.example.yaml").read_text()
    path = write(tmp_path / "config.yaml", example)
    edit = write_token(path, "192.168.1.50", 8080, "a1b2c3")
    assert (edit.action, edit.index, edit.env_var) == (FROM_ENV, 0, "NUKI_BRIDGE_TOKEN")
    assert path.read_text() == example


def test_example_config_gets_a_second_bridge_and_keeps_every_comment(tmp_path: Path) -> None:
    example = (REPO / "config.example.yaml").read_text()
    path = write(tmp_path / "config.yaml", example)
    assert write_token(path, "192.168.1.60", 8080, "ffee00").action == ADDED
    text = path.read_text()
    assert [line for line in text.splitlines() if line.lstrip().startswith("#") or "  #" in line] == [
        line for line in example.splitlines() if line.lstrip().startswith("#") or "  #" in line
    ]
    assert text.replace("  - host: 192.168.1.60\n    token: ffee00\n    token_mode: encrypted\n", "") == example
    env = {"MQTT_PASSWORD": "p", "NUKI_BRIDGE_TOKEN": "t", "NUKI_WEB_TOKEN": "w", "NUKI_WEBHOOK_SECRET": "s"}
    config = load_config(path, env=env)
    assert [(b.host, b.token) for b in config.bridges] == [("192.168.1.50", "t"), ("192.168.1.60", "ffee00")]


def test_same_token_again_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "bridges:\n  - host: h\n    token: same\n")
    before = path.stat().st_mtime_ns
    assert write_token(path, "h", 8080, "same").action == UNCHANGED
    assert path.stat().st_mtime_ns == before


def test_missing_file_is_created_private_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.yaml"
    edit = write_token(path, "192.168.1.50", 8080, "000123")
    assert (edit.action, edit.index) == (CREATED, 0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("# nuki2mqtt configuration")
    config = load_config(path, env={})
    assert [(b.host, b.port, b.token, b.token_mode) for b in config.bridges] == [
        ("192.168.1.50", 8080, "000123", TokenMode.ENCRYPTED)
    ]


def test_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", WITH_ENTRY)
    os.chmod(path, 0o640)
    write_token(path, "192.168.1.50", 8080, "abc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "bridges:\n  - host: h\n    token: tok\n    token_mode: encrypted\n"),
        ("# only a comment", "# only a comment\nbridges:\n  - host: h\n    token: tok\n    token_mode: encrypted\n"),
        ("mqtt:\n  host: b\n", "mqtt:\n  host: b\nbridges:\n  - host: h\n    token: tok\n    token_mode: encrypted\n"),
        ("bridges:   # none yet\nlog_level: info\n",
         "bridges:   # none yet\n  - host: h\n    token: tok\n    token_mode: encrypted\nlog_level: info\n"),
        ("bridges: []\n", "bridges:\n  - host: h\n    token: tok\n    token_mode: encrypted\n"),
        ("bridges: ~\n", "bridges:\n  - host: h\n    token: tok\n    token_mode: encrypted\n"),
    ],
)
def test_no_bridges_yet(text: str, expected: str) -> None:
    edited, action, index, _ = edit_text(text, "h", 8080, "tok")
    assert (edited, action, index) == (expected, ADDED, 0)


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"bridges:\r\n  - host: a\r\n    token: x # c\r\nlog_level: info\r\n")
    write_token(path, "b", 8080, "y")
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data == (b"bridges:\r\n  - host: a\r\n    token: x # c\r\n  - host: b\r\n    token: y\r\n"
                    b"    token_mode: encrypted\r\nlog_level: info\r\n")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("bridges: [1, 2]\n", "[...]"),
        ("bridges:\n  - {host: h, token: t}\n", "bridges.0"),
        ("bridges:\n  - host: h\n    token: |\n      abc\n", "one-line"),
        ("bridges: 5\n", "not a list"),
        ("- a\n- b\n", "top level"),
        ("mqtt: [\n", "not valid YAML"),
    ],
)
def test_unusual_files_are_refused_with_a_reason(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigEditError, match=words.replace("[", r"\[").replace(".", r"\.")) as caught:
        write_token(path, "h", 8080, "secret-token")
    assert "secret-token" not in str(caught.value)
    assert path.read_text() == text


@pytest.mark.parametrize(("value", "written"), [("abc123", "abc123"), ("123456", '"123456"'), ("true", '"true"'),
                                                 ("a b", '"a b"'), ("x#y", '"x#y"'), ("1e5", '"1e5"'),
                                                 ("null", '"null"'), ("fe80::1", '"fe80::1"')])
def test_quote_reads_back_as_the_same_string(value: str, written: str) -> None:
    import yaml

    assert quote(value) == written
    assert yaml.safe_load(f"k: {quote(value)}")["k"] == value
