"""Token modes against the vectors in NOTES.md and a real NaCl decryption."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest
from nacl.secret import SecretBox

from nuki2mqtt.bridge import encrypted_token, hashed_token, redact_url, token_params
from nuki2mqtt.bridge.auth import format_ts, token_key
from nuki2mqtt.const import TokenMode

TOKEN = "123456"
TS = "2019-03-05T01:06:53Z"
NOW = datetime(2019, 3, 5, 1, 6, 53, tzinfo=timezone.utc)
NONCE = bytes.fromhex("119c38fb6d7d707b8a45f14e688b74b8c4c1acf33643c71a")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def decrypt(ctoken: str, nonce_hex: str, token: str = TOKEN) -> str:
    box = SecretBox(hashlib.sha256(token.encode()).digest())
    return box.decrypt(bytes.fromhex(ctoken), bytes.fromhex(nonce_hex)).decode()


def test_hashed_token_vector() -> None:
    assert hashed_token(TOKEN, TS, 4711) == "f52eb5ce382e356c4239f8fb4d0a87402bb95b7b3124f0762b806ad7d0d01cb6"


def test_key_is_raw_sha256_digest() -> None:
    key = token_key(TOKEN)
    assert len(key) == 32
    assert key.hex() == "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"


def test_encrypted_token_decrypts_to_ts_and_rnr() -> None:
    ctoken = encrypted_token(TOKEN, TS, 4711, NONCE)
    assert decrypt(ctoken, NONCE.hex()) == f"{TS},4711"


def test_encrypted_token_has_no_nonce_prefix() -> None:
    plaintext = f"{TS},4711".encode()
    ctoken = bytes.fromhex(encrypted_token(TOKEN, TS, 4711, NONCE))
    assert len(ctoken) == SecretBox.MACBYTES + len(plaintext)
    assert not ctoken.startswith(NONCE)


def test_encrypted_token_rejects_short_nonce() -> None:
    with pytest.raises(ValueError):
        encrypted_token(TOKEN, TS, 4711, b"short")


def test_plain_params() -> None:
    assert token_params(TOKEN, TokenMode.PLAIN) == {"token": TOKEN}


def test_hashed_params_with_injected_clock_and_rnr() -> None:
    params = token_params(TOKEN, TokenMode.HASHED, now=NOW, rnr=4711)
    assert params == {
        "ts": TS,
        "rnr": "4711",
        "hash": "f52eb5ce382e356c4239f8fb4d0a87402bb95b7b3124f0762b806ad7d0d01cb6",
    }


def test_encrypted_params_with_injected_values() -> None:
    params = token_params(TOKEN, TokenMode.ENCRYPTED, now=NOW, rnr=4711, nonce=NONCE)
    assert set(params) == {"ctoken", "nonce"}
    assert params["nonce"] == NONCE.hex()
    assert decrypt(params["ctoken"], params["nonce"]) == f"{TS},4711"


def test_mode_given_as_string() -> None:
    assert token_params(TOKEN, "plain") == {"token": TOKEN}
    with pytest.raises(ValueError):
        token_params(TOKEN, "bogus")


def test_ts_is_utc_whatever_the_clock_zone() -> None:
    cet = timezone(timedelta(hours=1))
    local = datetime(2019, 3, 5, 2, 6, 53, tzinfo=cet)
    assert format_ts(local) == TS
    assert token_params(TOKEN, TokenMode.HASHED, now=local, rnr=4711)["ts"] == TS


def test_default_ts_is_now_in_utc() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    ts = token_params(TOKEN, TokenMode.HASHED)["ts"]
    after = datetime.now(timezone.utc)
    assert TS_RE.match(ts)
    parsed = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= parsed <= after


def test_default_encrypted_plaintext_is_ts_and_rnr_in_range() -> None:
    for _ in range(50):
        params = token_params(TOKEN, TokenMode.ENCRYPTED)
        ts, rnr = decrypt(params["ctoken"], params["nonce"]).split(",")
        assert TS_RE.match(ts)
        assert 0 <= int(rnr) <= 65535
        assert len(bytes.fromhex(params["nonce"])) == 24


def test_rnr_range_checked() -> None:
    with pytest.raises(ValueError):
        token_params(TOKEN, TokenMode.HASHED, rnr=65536)
    with pytest.raises(ValueError):
        token_params(TOKEN, TokenMode.HASHED, rnr=-1)


@pytest.mark.parametrize("mode", [TokenMode.HASHED, TokenMode.ENCRYPTED])
def test_fresh_params_differ_per_call(mode: TokenMode) -> None:
    # Same second on purpose: only the random parts make two requests distinct.
    seen = {tuple(sorted(token_params(TOKEN, mode, now=NOW).items())) for _ in range(20)}
    assert len(seen) >= 19  # a repeated rnr (1 in 65536 per pair) must not fail the test


def test_random_rnr_spreads() -> None:
    rnrs = {int(token_params(TOKEN, TokenMode.HASHED, now=NOW)["rnr"]) for _ in range(200)}
    assert len(rnrs) > 150
    assert all(0 <= r <= 65535 for r in rnrs)


def test_redact_url_hides_every_secret_value() -> None:
    ctoken = encrypted_token(TOKEN, TS, 4711, NONCE)
    urls = [
        f"http://192.168.1.50:8080/info?token={TOKEN}",
        f"http://h:8080/lockAction?nukiId=1&deviceType=0&action=1&ts={TS}&rnr=4711&hash=f52eb5ce",
        f"http://h:8080/list?ctoken={ctoken}&nonce={NONCE.hex()}",
        f"http://h:8080/list?ctoken={ctoken}&nounce={NONCE.hex()}",
    ]
    for url in urls:
        redacted = redact_url(url)
        assert TOKEN not in redacted
        assert "f52eb5ce" not in redacted
        assert ctoken not in redacted
        assert NONCE.hex() not in redacted
    assert redact_url(urls[0]) == "http://192.168.1.50:8080/info?token=***"
    assert redact_url(urls[1]) == (
        f"http://h:8080/lockAction?nukiId=1&deviceType=0&action=1&ts={TS}&rnr=4711&hash=***"
    )
    assert redact_url(urls[2]) == "http://h:8080/list?ctoken=***&nonce=***"


def test_redact_url_keeps_other_params_and_lookalikes() -> None:
    url = "http://h:8080/callback/add?url=http%3A%2F%2Fx%2Fnuki&mytoken=1&token=s3cret"
    assert redact_url(url) == "http://h:8080/callback/add?url=http%3A%2F%2Fx%2Fnuki&mytoken=1&token=***"
    assert redact_url("http://h:8080/list") == "http://h:8080/list"
    assert redact_url("http://h:8080/list?token=") == "http://h:8080/list?token=***"
