"""BridgeClient against a canned real HTTP server: error mapping, secrecy, timeouts, wire behaviour."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import traceback
from datetime import datetime, timezone

import pytest
import urllib3
from nacl.secret import SecretBox

from nuki2mqtt.bridge import BridgeClient
from nuki2mqtt.bridge import client as client_module
from nuki2mqtt.bridge.errors import (
    ERROR_BY_STATUS,
    BadRequestError,
    BridgeConnectionError,
    BridgeError,
    BridgeResponseError,
    BridgeTimeoutError,
)
from nuki2mqtt.const import LockAction, TokenMode
from tests.bridge.canned_server import CannedServer, Reply, closed_port

TOKEN = "s3cr3tT0ken"
MODES = [TokenMode.PLAIN, TokenMode.HASHED, TokenMode.ENCRYPTED]
SECRET_KEYS = ("token", "hash", "ctoken", "nonce")
UNREDACTED = re.compile(r"(?:token|hash|ctoken|nonce)=(?!\*\*\*)")
LIST_BODY = json.dumps(
    [{"nukiId": 1, "deviceType": 0, "name": "Home", "lastKnownState": {"mode": 2, "state": 1}}]
).encode()


def client_for(server: CannedServer, mode: TokenMode = TokenMode.PLAIN, **kwargs: float) -> BridgeClient:
    return BridgeClient("127.0.0.1", server.port, TOKEN, mode, **kwargs)


def secrets_sent(server: CannedServer) -> set[str]:
    """The token and every hash/ctoken/nonce value that went over the wire."""
    values = {TOKEN}
    for seen in server.requests:
        values.update(v for k, v in seen.query.items() if k in SECRET_KEYS and v)
    return values


def assert_no_secret(error: BaseException, secrets: set[str], log_text: str) -> None:
    texts = [
        str(error),
        repr(error),
        " ".join(map(str, error.args)),
        "".join(traceback.format_exception(error)),
        log_text,
    ]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert not UNREDACTED.search(text), text


# -- status mapping -----------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(ERROR_BY_STATUS))
def test_documented_status_maps_to_its_class(canned: CannedServer, status: int) -> None:
    canned.reply("/list", Reply(status, b""))
    with client_for(canned) as client, pytest.raises(BridgeError) as info:
        client.list()
    assert type(info.value) is ERROR_BY_STATUS[status]
    assert str(info.value).startswith("/list: ")
    assert info.value.endpoint == "/list"


@pytest.mark.parametrize("status", [500, 302, 418])
def test_undocumented_status_is_response_error(canned: CannedServer, status: int) -> None:
    canned.reply("/info", Reply(status, b"nope", "text/plain"))
    with client_for(canned) as client, pytest.raises(BridgeResponseError) as info:
        client.info()
    assert info.value.status == status
    assert "/info" in str(info.value)


def test_503_is_retryable_and_400_is_not(canned: CannedServer) -> None:
    canned.reply("/lockAction", Reply(503))
    canned.reply("/lock", Reply(400))
    with client_for(canned) as client:
        with pytest.raises(BridgeError) as busy:
            client.lock_action(1, 0, LockAction.UNLOCK)
        with pytest.raises(BridgeError) as bad:
            client.lock(1, 0)
    assert busy.value.retryable
    assert not bad.value.retryable


def test_invalid_json_is_response_error(canned: CannedServer) -> None:
    canned.reply("/list", Reply(200, b"[{not json", "application/json"))
    with client_for(canned) as client, pytest.raises(BridgeResponseError) as info:
        client.list()
    assert "/list" in str(info.value)


def test_json_of_the_wrong_shape_is_response_error(canned: CannedServer) -> None:
    canned.reply("/list", Reply(200, b'{"success": true}'))
    canned.reply("/info", Reply(200, b"[1, 2]"))
    canned.reply("/callback/list", Reply(200, b'{"callbacks": [{"id": 0}]}'))
    with client_for(canned) as client:
        for call in (client.list, client.info, client.callback_list):
            with pytest.raises(BridgeResponseError):
                call()


def test_bridge_message_in_error_is_scrubbed(canned: CannedServer) -> None:
    canned.reply("/callback/add", Reply(400, json.dumps({"success": False, "message": f"bad url {TOKEN}"}).encode()))
    with client_for(canned) as client, pytest.raises(BadRequestError) as info:
        client.callback_add("https://x/y")
    assert "bad url ***" in str(info.value)
    assert TOKEN not in str(info.value)


def test_callback_add_refused_raises_with_the_bridges_message(canned: CannedServer) -> None:
    canned.reply("/callback/add", Reply(200, b'{"success": false, "message": "too many callbacks registered"}'))
    canned.reply("/callback/remove", Reply(200, b'{"success": false, "message": "invalid id"}'))
    with client_for(canned) as client:
        with pytest.raises(BadRequestError, match="too many callbacks registered"):
            client.callback_add("http://127.0.0.1:1/cb")
        with pytest.raises(BadRequestError, match="invalid id"):
            client.callback_remove(7)


# -- transport failures ---------------------------------------------------------------


def test_connection_refused() -> None:
    with BridgeClient("127.0.0.1", closed_port(), TOKEN, TokenMode.PLAIN) as client:
        with pytest.raises(BridgeConnectionError) as info:
            client.list()
    assert info.value.retryable
    assert "refused" in str(info.value).lower()
    assert str(info.value).startswith("/list: ")


def test_connection_dropped_without_answer(canned: CannedServer) -> None:
    canned.reply("/list", Reply(drop=True))
    with client_for(canned) as client, pytest.raises(BridgeConnectionError):
        client.list()
    assert canned.paths() == ["/list"]  # not retried


def test_server_that_never_answers_times_out(canned: CannedServer) -> None:
    canned.reply("/list", Reply(hang=True))
    with client_for(canned, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(BridgeTimeoutError) as info:
            client.list()
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5
    assert info.value.retryable


def test_each_call_uses_its_own_timeout(canned: CannedServer) -> None:
    for path in ("/list", "/lockAction", "/lock", "/unlock", "/auth"):
        canned.reply(path, Reply(200, b'{"success": true}' if path != "/list" else b"[]", delay=0.25))
    with client_for(canned, timeout=0.1, action_timeout=2.0) as client:
        with pytest.raises(BridgeTimeoutError):
            client.list()
        with pytest.raises(BridgeTimeoutError):
            client.lock_action(1, 0, LockAction.LOCK, nowait=True)
        with pytest.raises(BridgeTimeoutError):
            client.lock_action(1, 0, LockAction.LOCK, timeout=0.1)
        assert client.lock_action(1, 0, LockAction.LOCK).success
        assert client.lock(1, 0).success
        assert client.unlock(1, 0).success
        assert client.auth(timeout=2.0).success
        with pytest.raises(BridgeTimeoutError):
            client.auth(timeout=0.1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", ["401", "invalid_json", "timeout", "dropped"])
def test_no_secret_in_messages_or_logs(
    canned: CannedServer, caplog: pytest.LogCaptureFixture, mode: TokenMode, fault: str
) -> None:
    reply = {
        "401": Reply(401, json.dumps({"message": f"token {TOKEN} wrong"}).encode()),
        "invalid_json": Reply(200, b"{"),
        "timeout": Reply(hang=True),
        "dropped": Reply(drop=True),
    }[fault]
    canned.reply("/lockAction", reply)
    caplog.set_level(logging.DEBUG)
    with client_for(canned, mode, timeout=0.3, action_timeout=0.3) as client, pytest.raises(BridgeError) as info:
        client.lock_action(1, 0, LockAction.UNLOCK)
    sent = secrets_sent(canned)
    assert len(sent) == {TokenMode.PLAIN: 1, TokenMode.HASHED: 2, TokenMode.ENCRYPTED: 3}[mode]
    assert "/lockAction" in caplog.text  # the request was logged ...
    assert_no_secret(info.value, sent, caplog.text)  # ... without its secrets


@pytest.mark.parametrize("mode", MODES)
def test_no_secret_when_refused(caplog: pytest.LogCaptureFixture, mode: TokenMode) -> None:
    caplog.set_level(logging.DEBUG)
    with BridgeClient("127.0.0.1", closed_port(), TOKEN, mode) as client, pytest.raises(BridgeError) as info:
        client.info()
    assert "/info" in caplog.text
    assert_no_secret(info.value, {TOKEN}, caplog.text)


def test_repr_hides_token() -> None:
    client = BridgeClient("127.0.0.1", 8080, TOKEN, TokenMode.PLAIN)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(vars(client).get("token", ""))
    client.close()


def test_debug_log_line_has_redacted_url_status_and_duration(
    canned: CannedServer, caplog: pytest.LogCaptureFixture
) -> None:
    canned.reply("/list", Reply(200, LIST_BODY))
    caplog.set_level(logging.DEBUG, logger="nuki2mqtt.bridge.client")
    with client_for(canned) as client:
        client.list()
    messages = [r.getMessage() for r in caplog.records if r.name == "nuki2mqtt.bridge.client"]
    assert len(messages) == 1
    assert re.fullmatch(rf"GET http://127\.0\.0\.1:{canned.port}/list\?token=\*\*\* -> 200 in \d+\.\d ms", messages[0])


# -- wire behaviour ---------------------------------------------------------------------


def test_keep_alive_one_connection_for_many_requests(canned: CannedServer) -> None:
    canned.reply("/list", Reply(200, LIST_BODY))
    canned.reply("/lockAction", Reply(200, b'{"success": true, "batteryCritical": false}'))
    with client_for(canned, TokenMode.ENCRYPTED) as client:
        for _ in range(5):
            client.list()
            client.lock_action(1, 0, LockAction.LOCK)
        client.reboot()
    assert len(canned.requests) == 11
    assert canned.connections == 1
    assert {seen.connection for seen in canned.requests} == {1}


def test_no_retry_on_503(canned: CannedServer) -> None:
    canned.reply("/lockAction", Reply(503))
    with client_for(canned) as client, pytest.raises(BridgeError):
        client.lock_action(1, 0, LockAction.UNLATCH)
    assert canned.paths() == ["/lockAction"]


def test_no_retry_on_injected_pool_either(canned: CannedServer) -> None:
    canned.reply("/list", Reply(503))
    pool = urllib3.HTTPConnectionPool("127.0.0.1", canned.port)  # urllib3's default would retry 3 times
    client = BridgeClient("127.0.0.1", canned.port, TOKEN, TokenMode.PLAIN, pool=pool)
    with pytest.raises(BridgeError):
        client.list()
    client.close()
    assert canned.paths() == ["/list"]
    pool.close()


@pytest.mark.parametrize(
    ("mode", "keys"),
    [
        (TokenMode.PLAIN, {"token"}),
        (TokenMode.HASHED, {"ts", "rnr", "hash"}),
        (TokenMode.ENCRYPTED, {"ctoken", "nonce"}),
    ],
)
def test_fresh_token_params_on_every_request(canned: CannedServer, mode: TokenMode, keys: set[str]) -> None:
    canned.reply("/list", Reply(200, b"[]"))
    with client_for(canned, mode) as client:
        client.list()
        client.list()
    first, second = (seen.query for seen in canned.requests)
    assert set(first) == keys == set(second)
    if mode is not TokenMode.PLAIN:
        assert first != second


def test_parameter_spelling(canned: CannedServer) -> None:
    canned.reply("/lockAction", Reply(200, b'{"success": true}'))
    canned.reply("/lockState", Reply(200, b'{"state": 1, "success": true}'))
    canned.reply("/unpair", Reply(200, b'{"success": true}'))
    canned.reply("/configAuth", Reply(200, b'{"success": true}'))
    canned.reply("/log", Reply(200, b'[{"timestamp": "2018-10-06T16:46:05+00:00", "type": "x"}]'))
    with client_for(canned) as client:
        client.lock_action(0x1A2B3C4D, 4, LockAction.LOCK_N_GO, nowait=True)
        client.lock_action(0x1A2B3C4D, 4, LockAction.LOCK)
        assert client.lock_state(5, 2).state.state == 1
        assert client.unpair(5, 2)
        assert client.config_auth(False)
        assert client.log(offset=3, count=7) == [{"timestamp": "2018-10-06T16:46:05+00:00", "type": "x"}]
        client.fwupdate()
        client.fwupdate(scope=2, nuki_id=9, device_type=0)
    queries = [{k: v for k, v in seen.query.items() if k != "token"} for seen in canned.requests]
    assert queries == [
        {"nukiId": str(0x1A2B3C4D), "deviceType": "4", "action": "4", "nowait": "1"},
        {"nukiId": str(0x1A2B3C4D), "deviceType": "4", "action": "2"},
        {"nukiId": "5", "deviceType": "2"},
        {"nukiId": "5", "deviceType": "2"},
        {"enable": "0"},
        {"offset": "3", "count": "7"},
        {},
        {"scope": "2", "nukiId": "9", "deviceType": "0"},
    ]


def test_auth_sends_no_token(canned: CannedServer) -> None:
    canned.reply("/auth", Reply(200, b'{"success": true, "token": "newtoken"}'))
    with client_for(canned, TokenMode.ENCRYPTED) as client:
        result = client.auth()
    assert result.success and result.token == "newtoken"
    assert "newtoken" not in repr(result)
    assert canned.requests[0].query == {}


@pytest.mark.parametrize("path", ["/clearlog", "/fwupdate", "/reboot", "/factoryReset"])
def test_no_response_endpoints_accept_an_empty_body(canned: CannedServer, path: str) -> None:
    canned.reply(path, Reply(200, b"", "text/plain"))
    with client_for(canned) as client:
        call = {
            "/clearlog": client.clear_log,
            "/fwupdate": client.fwupdate,
            "/reboot": client.reboot,
            "/factoryReset": client.factory_reset,
        }[path]
        assert call() is None
    assert canned.paths() == [path]


def test_no_response_endpoints_still_map_errors(canned: CannedServer) -> None:
    canned.reply("/reboot", Reply(401, b""))
    with client_for(canned) as client, pytest.raises(ERROR_BY_STATUS[401]):
        client.reboot()


def test_base_url() -> None:
    assert BridgeClient("192.168.1.50").base_url == "http://192.168.1.50:8080"
    assert BridgeClient("::1", 8081).base_url == "http://[::1]:8081"


@pytest.mark.parametrize("mode", [TokenMode.HASHED, TokenMode.ENCRYPTED])
def test_rnr_never_repeats_within_one_second(
    canned: CannedServer, monkeypatch: pytest.MonkeyPatch, mode: TokenMode
) -> None:
    """A repeated (ts, rnr) is a replay to the bridge; the client must draw again."""
    frozen = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    draws = iter([7, 7, 7, 9, 7, 11])
    monkeypatch.setattr(client_module, "_utcnow", lambda: frozen)
    monkeypatch.setattr(client_module, "random_rnr", lambda: next(draws))
    canned.reply("/list", Reply(200, b"[]"))
    with client_for(canned, mode) as client:
        for _ in range(3):
            client.list()
    if mode is TokenMode.HASHED:
        assert [seen.query["rnr"] for seen in canned.requests] == ["7", "9", "11"]
        assert {seen.query["ts"] for seen in canned.requests} == {"2024-05-01T12:00:00Z"}
    else:
        box = SecretBox(hashlib.sha256(TOKEN.encode()).digest())
        plain = [
            box.decrypt(bytes.fromhex(seen.query["ctoken"]), bytes.fromhex(seen.query["nonce"])).decode()
            for seen in canned.requests
        ]
        assert plain == ["2024-05-01T12:00:00Z,7", "2024-05-01T12:00:00Z,9", "2024-05-01T12:00:00Z,11"]
