"""Registering and removing our callback URL on a simulated bridge, next to other clients' URLs."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from nuki2mqtt.bridge.client import BridgeClient
from nuki2mqtt.const import MAX_CALLBACK_URL_LENGTH, MAX_CALLBACKS
from nuki2mqtt.registration import Registration, ensure_callback, remove_callback

OURS = "http://127.0.0.1:8321/callback/1"
FOREIGN = ["http://192.0.2.10:8000/other-app", "http://192.0.2.11:8000/hass", "http://192.0.2.12:8000/x"]


@pytest.fixture
def client(simulator: Any) -> Iterator[BridgeClient]:
    with BridgeClient(simulator.host, simulator.port, simulator.token) as bridge_client:
        yield bridge_client


def paths_since(simulator: Any, mark: int) -> list[str]:
    return [record.path for record in simulator.requests[mark:]]


def preset(simulator: Any, client: BridgeClient, *urls: str) -> int:
    """Registers ``urls`` as other clients would; returns how many requests the bridge has had by then."""
    for url in urls:
        client.callback_add(url)
    return len(simulator.requests)


def test_a_new_url_is_added(simulator: Any, client: BridgeClient) -> None:
    mark = preset(simulator, client, FOREIGN[0])
    assert ensure_callback(client, OURS) == Registration(True, added=True)
    assert simulator.callback_urls == [FOREIGN[0], OURS]
    assert paths_since(simulator, mark) == ["/callback/list", "/callback/add"]


@pytest.mark.parametrize("others", [0, 1, MAX_CALLBACKS - 1])
def test_an_identical_registration_is_kept(simulator: Any, client: BridgeClient, others: int) -> None:
    """Even when every slot is taken: one of them is ours."""
    mark = preset(simulator, client, *FOREIGN[:others], OURS)
    assert ensure_callback(client, OURS) == Registration(True, added=False)
    assert simulator.callback_urls == [*FOREIGN[:others], OURS]
    assert paths_since(simulator, mark) == ["/callback/list"]


def test_a_scheme_in_capitals_is_still_plain_http(simulator: Any, client: BridgeClient) -> None:
    url = "HTTP://127.0.0.1:8321/callback/1"
    assert ensure_callback(client, url) == Registration(True, added=True)
    assert simulator.callback_urls == [url]


def test_full_slots_are_refused_naming_the_taken_urls(simulator: Any, client: BridgeClient) -> None:
    mark = preset(simulator, client, *FOREIGN)
    result = ensure_callback(client, OURS)
    assert (result.registered, result.added) == (False, False)
    assert result.error is not None
    assert f"all {MAX_CALLBACKS} callback slots" in result.error
    assert all(url in result.error for url in FOREIGN)
    assert simulator.callback_urls == FOREIGN
    assert paths_since(simulator, mark) == ["/callback/list"]


@pytest.mark.parametrize(("url", "reason"), [
    ("https://127.0.0.1:8321/callback/1", "plain http://"),
    ("http://127.0.0.1:8321/" + "x" * (MAX_CALLBACK_URL_LENGTH - 21), f"longer than {MAX_CALLBACK_URL_LENGTH}"),
])
def test_urls_the_bridge_cannot_call_are_refused_without_asking_it(simulator: Any, client: BridgeClient,
                                                                    url: str, reason: str) -> None:
    result = ensure_callback(client, url)
    assert result.registered is False and result.added is False
    assert result.error is not None and reason in result.error and url in result.error
    assert simulator.requests == []
    assert simulator.callback_urls == []


def test_a_url_of_exactly_the_limit_is_registered(simulator: Any, client: BridgeClient) -> None:
    url = "http://127.0.0.1:8321/" + "y" * (MAX_CALLBACK_URL_LENGTH - 22)
    assert len(url) == MAX_CALLBACK_URL_LENGTH
    assert ensure_callback(client, url) == Registration(True, added=True)
    assert simulator.callback_urls == [url]


def test_remove_takes_out_only_our_url(simulator: Any, client: BridgeClient) -> None:
    # a foreign URL that merely starts with ours, and ours behind a foreign one: its id is 1, not 0
    look_alike = OURS + "0"
    preset(simulator, client, look_alike, OURS, FOREIGN[0])
    assert remove_callback(client, OURS) is True
    assert simulator.callback_urls == [look_alike, FOREIGN[0]]
    assert remove_callback(client, OURS) is False
    assert simulator.callback_urls == [look_alike, FOREIGN[0]]


def test_remove_without_our_url_removes_nothing(simulator: Any, client: BridgeClient) -> None:
    assert remove_callback(client, OURS) is False
    mark = preset(simulator, client, *FOREIGN)
    assert remove_callback(client, OURS) is False
    assert simulator.callback_urls == FOREIGN
    assert paths_since(simulator, mark) == ["/callback/list"]
