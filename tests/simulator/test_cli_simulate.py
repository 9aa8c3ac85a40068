"""`nuki2mqtt simulate`: help, usage errors, and a real run stopped by SIGTERM."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from nuki2mqtt.cli import main
from nuki2mqtt.cli.simulate import DEMO_TOKEN

FLAGS = ["--host", "--port", "--token", "--devices", "--web", "--software", "--service-delay",
         "--action-duration", "--no-strict"]


def test_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in FLAGS:
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(flag)), None)
        assert line is not None, flag
        assert len(line.strip()) > len(flag) + 10, f"{flag} has no explanation"
    assert "127.0.0.1" in out and "8080" in out
    assert "/_sim/button" in out and "/_sim/state" in out


def test_web_is_not_available_yet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--web", "--port", "0"]) == 2
    assert "not available yet" in capsys.readouterr().err


def test_bad_devices_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("devices:\n  - {nuki_id: 1, device_type: toaster, name: x}\n")
    assert main(["simulate", "--devices", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "devices[0].device_type" in err and "Traceback" not in err


def test_bad_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--service-delay", "soon"]) == 2


def test_runs_until_sigterm(tmp_path: Path) -> None:
    devices = tmp_path / "d.yaml"
    devices.write_text("- {nuki_id: '00C0FFEE', device_type: smartlock, name: Shed}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuki2mqtt", "simulate", "--port", "0", "--devices", str(devices),
         "--action-duration", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        banner = "".join(lines)
        url = re.search(r"url:\s+(http://127\.0\.0\.1:\d+)", banner).group(1)
        assert DEMO_TOKEN in banner and "00C0FFEE" in banner and "Shed" in banner
        assert "/_sim/ring" in banner
        listing = requests.get(url + "/list", params={"token": DEMO_TOKEN}, timeout=5).json()
        assert [d["name"] for d in listing] == ["Shed"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""  # quiet: no per-request lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
