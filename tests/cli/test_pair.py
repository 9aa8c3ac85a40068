"""`nuki2mqtt pair` against the bridge simulator: the button, retries, refusals, writing the config."""
from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Iterator

import pytest

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.broker import free_port
from nuki2mqtt.cli import main
from nuki2mqtt.config import load_config
from nuki2mqtt.const import TokenMode
from nuki2mqtt.simulator import BridgeSimulator

TOKEN = "pairtoken4711"

CONFIG = """\
# living room setup
mqtt:
  host: 127.0.0.1   # local broker
bridges:
  - host: 10.0.0.9          # the other bridge
    token: othertoken
    poll_interval: 30
  - host: 127.0.0.1
    port: {port}
    token: expired-token   # replaced by pair
    token_mode: hashed
log_level: info   # chatty?
"""


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUKI2MQTT_CONFIG", raising=False)


@pytest.fixture
def bridge() -> Iterator[BridgeSimulator]:
    with BridgeSimulator(port=0, token=TOKEN, auth_window=0.25) as sim:
        yield sim


def press_after(sim: BridgeSimulator, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, sim.press_button)
    timer.daemon = True
    timer.start()
    return timer


def pair(capsys: pytest.CaptureFixture[str], sim: BridgeSimulator | None, *extra: str,
         port: int | None = None) -> tuple[int, str, str]:
    where = ["--host", "127.0.0.1", "--port", str(port if port is not None else sim.port)]  # type: ignore[union-attr]
    code = main(["pair", *where, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def auth_requests(sim: BridgeSimulator) -> int:
    return sum(r.path == "/auth" for r in sim.requests)


def test_button_pressed_prints_the_token_once(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator) -> None:
    bridge.auth_window = 5.0
    press_after(bridge, 0.2)
    code, out, err = pair(capsys, bridge, "--timeout", "10")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"Asking the bridge at 127.0.0.1:{bridge.port} for its API token."
    assert lines[1] == "Press the button on the bridge now; it waits 30 s for the press."
    assert lines[2] == "Waiting for the button: 10 s left"
    assert out.count(TOKEN) == 1 and f"\n    {TOKEN}\n" in out
    assert (f"Checked: the bridge accepts the token in encrypted mode (hardware bridge {bridge.server_id}, "
            "firmware 2.16.1).") in out
    assert auth_requests(bridge) == 1


def test_not_pressed_in_time_is_asked_again_then_given_up(capsys: pytest.CaptureFixture[str],
                                                          bridge: BridgeSimulator) -> None:
    code, out, err = pair(capsys, bridge, "--timeout", "0.9")
    assert code == 1
    assert "The button was not pressed in time; asking again (attempt 2, giving up in 1 s)." in out
    assert err == ("nuki2mqtt pair: no button press within 0.9 s, nothing was paired; run the command again "
                   "and press the bridge's button while the countdown runs\n")
    assert 2 <= auth_requests(bridge) <= 3  # asked again, but never faster than every 0.5 s
    assert TOKEN not in out + err


def test_pressed_during_a_later_attempt(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator) -> None:
    press_after(bridge, 0.6)
    code, out, _ = pair(capsys, bridge, "--timeout", "5")
    assert code == 0 and out.count(TOKEN) == 1
    assert "asking again (attempt 2" in out
    assert auth_requests(bridge) >= 2


def test_auth_disabled_403(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator) -> None:
    with BridgeClient(bridge.host, bridge.port, TOKEN) as client:
        assert client.config_auth(False)
    code, _, err = pair(capsys, bridge, "--timeout", "5")
    assert code == 1
    assert err.startswith(f"nuki2mqtt pair: the bridge at 127.0.0.1:{bridge.port} refused pairing (403): ")
    assert "Nuki app" in err and len(err.splitlines()) == 1
    assert auth_requests(bridge) == 1


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, _, err = pair(capsys, None, "--timeout", "5", port=port)
    assert code == 1
    assert err.startswith(f"nuki2mqtt pair: cannot connect to the bridge at 127.0.0.1:{port}: Connection refused; ")
    assert "nuki2mqtt discover" in err and "Traceback" not in err


def test_write_config_updates_the_entry_and_keeps_comments(capsys: pytest.CaptureFixture[str],
                                                            bridge: BridgeSimulator, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    original = CONFIG.format(port=bridge.port)
    path.write_text(original)
    press_after(bridge, 0.1)
    code, out, err = pair(capsys, bridge, "--timeout", "5", "--write-config", str(path))
    assert code == 0, err
    assert path.read_text() == original.replace("token: expired-token   #", f"token: {TOKEN}   #")
    assert f"Updated the token of bridges.1 (127.0.0.1:{bridge.port}) in {path}" in out
    assert "${NUKI_BRIDGE_TOKEN}" in out
    assert f"Next: nuki2mqtt check-config --online -c {path}" in out
    config = load_config(path, env={})
    assert [(b.host, b.token, b.token_mode) for b in config.bridges] == [
        ("10.0.0.9", "othertoken", TokenMode.ENCRYPTED), ("127.0.0.1", TOKEN, TokenMode.HASHED)
    ]


def test_write_config_adds_an_entry(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator,
                                    tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    original = CONFIG.format(port=1)
    path.write_text(original)
    press_after(bridge, 0.1)
    code, out, _ = pair(capsys, bridge, "--timeout", "5", "--write-config", str(path), "--token-mode", "plain")
    assert code == 0
    assert f"Added bridges.2 for 127.0.0.1:{bridge.port} to {path}" in out
    text = path.read_text()
    assert text == original.replace(
        "    token_mode: hashed\n",
        f"    token_mode: hashed\n  - host: 127.0.0.1\n    port: {bridge.port}\n    token: {TOKEN}\n"
        "    token_mode: plain\n",
    )
    config = load_config(path, env={})
    assert (config.bridges[2].port, config.bridges[2].token, config.bridges[2].token_mode) == (
        bridge.port, TOKEN, TokenMode.PLAIN)


def test_write_config_creates_the_file(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator,
                                       tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.yaml"
    press_after(bridge, 0.1)
    code, out, _ = pair(capsys, bridge, "--timeout", "5", "--write-config", str(path))
    assert code == 0 and f"Created {path} with bridges.0 for 127.0.0.1:{bridge.port}." in out
    config = load_config(path, env={})
    assert [(b.host, b.port, b.token) for b in config.bridges] == [("127.0.0.1", bridge.port, TOKEN)]


def test_entry_with_env_token_is_left_alone(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator,
                                            tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    original = f"bridges:\n  - host: 127.0.0.1\n    port: {bridge.port}\n    token: ${{MY_TOKEN}}\n"
    path.write_text(original)
    press_after(bridge, 0.1)
    code, out, _ = pair(capsys, bridge, "--timeout", "5", "--write-config", str(path))
    assert code == 0 and path.read_text() == original
    assert "takes its token from ${MY_TOKEN}, so the file was left alone: set MY_TOKEN to the token" in out


def test_unwritable_config_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], bridge: BridgeSimulator,
                                              tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bridges: [1, 2]\n")
    press_after(bridge, 0.1)
    code, out, err = pair(capsys, bridge, "--timeout", "5", "--write-config", str(path))
    assert code == 1 and out.count(TOKEN) == 1  # the token was still shown: the user can paste it
    assert err == "nuki2mqtt pair: bridges: is written as a [...] list; edit it by hand\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_asks_before_writing_the_default_config(bridge: BridgeSimulator, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stdout = Terminal()
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    monkeypatch.setattr("sys.stdout", stdout)
    bridge.auth_window = 5.0
    press_after(bridge, 0.3)
    assert main(["pair", "--host", "127.0.0.1", "--port", str(bridge.port), "--timeout", "5"]) == 0
    out = stdout.getvalue()
    assert "\rWaiting for the button:  5 s left" in out  # one line, rewritten in place
    assert "Write the token into config.yaml? [y/N] " in out
    assert load_config(tmp_path / "config.yaml", env={}).bridges[0].token == TOKEN


def test_terminal_answer_no_writes_nothing(bridge: BridgeSimulator, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", Terminal("\n"))
    monkeypatch.setattr("sys.stdout", Terminal())
    press_after(bridge, 0.1)
    assert main(["pair", "--host", "127.0.0.1", "--port", str(bridge.port), "--timeout", "5"]) == 0
    assert not (tmp_path / "config.yaml").exists()
