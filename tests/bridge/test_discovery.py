"""discover_bridges against a local server serving the document's example answer."""
from __future__ import annotations

import json

import pytest

from nuki2mqtt.bridge import discover_bridges
from nuki2mqtt.bridge.errors import BridgeConnectionError, BridgeResponseError, BridgeTimeoutError
from nuki2mqtt.bridge.models import DiscoveredBridge
from tests.bridge.canned_server import CannedServer, Reply, closed_port

# Verbatim from section 3.1, typo "bridgId" included.
DOCUMENT_EXAMPLE = b"""{
  "bridges": [
    {
      "bridgId":2117604523,"ip":"192.168.1.50","port":8080,"dateUpdated":"2017-06-14T06:53:44Z"
    }
  ],
  "errorCode":0
}"""


def url(server: CannedServer) -> str:
    return f"http://127.0.0.1:{server.port}/discover/bridges"


def test_document_example(canned: CannedServer) -> None:
    canned.reply("/discover/bridges", Reply(200, DOCUMENT_EXAMPLE))
    assert discover_bridges(url(canned)) == [
        DiscoveredBridge(bridge_id=2117604523, ip="192.168.1.50", port=8080, date_updated="2017-06-14T06:53:44Z")
    ]
    assert canned.paths() == ["/discover/bridges"]


def test_correct_spelling_and_several_bridges(canned: CannedServer) -> None:
    body = {
        "bridges": [
            {"bridgeId": 1, "ip": "10.0.0.2", "port": 8080, "dateUpdated": "2024-01-01T00:00:00Z"},
            {"bridgeId": 2, "ip": "0.0.0.0", "port": 0},
        ],
        "errorCode": 0,
    }
    canned.reply("/discover/bridges", Reply(200, json.dumps(body).encode()))
    found = discover_bridges(url(canned))
    assert [(b.bridge_id, b.ip, b.port, b.date_updated) for b in found] == [
        (1, "10.0.0.2", 8080, "2024-01-01T00:00:00Z"),
        (2, "0.0.0.0", 0, None),
    ]


def test_no_bridges(canned: CannedServer) -> None:
    canned.reply("/discover/bridges", Reply(200, b'{"bridges": [], "errorCode": 0}'))
    assert discover_bridges(url(canned)) == []


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, b""),
        Reply(200, b"<html>"),
        Reply(200, b"[]"),
        Reply(200, b'{"bridges": [], "errorCode": 4}'),
        Reply(200, b'{"bridges": [{"bridgeId": "x"}]}'),
    ],
)
def test_bad_answers(canned: CannedServer, reply: Reply) -> None:
    canned.reply("/discover/bridges", reply)
    with pytest.raises(BridgeResponseError):
        discover_bridges(url(canned))


def test_unreachable() -> None:
    with pytest.raises(BridgeConnectionError):
        discover_bridges(f"http://127.0.0.1:{closed_port()}/discover/bridges")


def test_timeout(canned: CannedServer) -> None:
    canned.reply("/discover/bridges", Reply(hang=True))
    with pytest.raises(BridgeTimeoutError):
        discover_bridges(url(canned), timeout=0.2)
