"""The simulated clock is the one a client can observe: /info's currentTime and the Date header."""
from __future__ import annotations

import email.utils
import time
from datetime import datetime

import requests

from nuki2mqtt.simulator import BridgeSimulator


def test_clock_offset_shows_in_date_header_and_current_time() -> None:
    with BridgeSimulator(port=0, token="clocktoken1") as sim:
        sim.clock_offset = 120
        answer = requests.get(f"{sim.url}/info", params={"token": "clocktoken1"}, timeout=5)
        header = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
        current = datetime.strptime(answer.json()["currentTime"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        now = time.time()
        assert 118 <= header - now <= 122
        assert 118 <= current - now <= 122
