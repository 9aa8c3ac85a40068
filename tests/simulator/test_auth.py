"""The simulator's token verification against NOTES.md and the document's own examples."""
from __future__ import annotations

import pytest

from nuki2mqtt.const import TokenMode
from nuki2mqtt.simulator.auth import AuthFailure, TokenVerifier, decrypt_ctoken, hash_token, parse_ts, token_key
from tests.simulator.helpers import encrypted, hashed, utc_ts

# The document's examples (token 123456), checked by NOTES.md.
DOC_TS = "2019-03-05T01:06:53Z"
DOC_HASH = "f52eb5ce382e356c4239f8fb4d0a87402bb95b7b3124f0762b806ad7d0d01cb6"
DOC_KEY = "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
DOC_CTOKEN = "a7f6b4df6758b92445bd5470b755b43ba41cf50af8b3f6e19368348ddfb1686291555dfd90b31f9333"
DOC_NONCE = "119c38fb6d7d707b8a45f14e688b74b8c4c1acf33643c71a"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_notes_hash_vector() -> None:
    assert hash_token(DOC_TS, 4711, "123456") == DOC_HASH


def test_notes_key_vector() -> None:
    assert token_key("123456").hex() == DOC_KEY


def test_document_ctoken_decrypts() -> None:
    assert decrypt_ctoken(token_key("123456"), DOC_CTOKEN, DOC_NONCE) == f"{DOC_TS},4711"


def test_document_examples_verify_at_their_time() -> None:
    verifier = TokenVerifier("123456", FakeClock(parse_ts(DOC_TS) + 20))
    assert verifier.verify({"ts": DOC_TS, "rnr": "4711", "hash": DOC_HASH}) is TokenMode.HASHED
    assert verifier.verify({"ctoken": DOC_CTOKEN, "nonce": DOC_NONCE}) is TokenMode.ENCRYPTED
    assert verifier.verify({"token": "123456"}) is TokenMode.PLAIN


@pytest.mark.parametrize(
    "params",
    [
        {"token": "123457"},
        {},
        {"ts": DOC_TS, "rnr": "4712", "hash": DOC_HASH},
        {"ts": DOC_TS, "hash": DOC_HASH},
        {"ts": DOC_TS, "rnr": "4711", "hash": DOC_HASH.upper()},
        {"ts": "2019-03-05 01:06:53", "rnr": "4711", "hash": DOC_HASH},
        {"ctoken": DOC_CTOKEN},
        {"ctoken": DOC_CTOKEN, "nonce": DOC_NONCE[:-2]},
        {"ctoken": "zz" + DOC_CTOKEN[2:], "nonce": DOC_NONCE},
        {"ctoken": DOC_CTOKEN[:-2] + "00", "nonce": DOC_NONCE},
    ],
)
def test_bad_tokens_fail(params: dict[str, str]) -> None:
    verifier = TokenVerifier("123456", FakeClock(parse_ts(DOC_TS)))
    with pytest.raises(AuthFailure):
        verifier.verify(params)


def test_rnr_out_of_range_fails() -> None:
    clock = FakeClock(1_700_000_000.0)
    verifier = TokenVerifier("t", clock)
    with pytest.raises(AuthFailure, match="rnr"):
        verifier.verify(hashed("t", utc_ts(clock.now), rnr=65536))


@pytest.mark.parametrize("sign", [hashed, encrypted])
@pytest.mark.parametrize(("skew", "ok"), [(-59, True), (59, True), (-61, False), (61, False)])
def test_window_is_60_seconds(sign, skew: float, ok: bool) -> None:
    clock = FakeClock(1_700_000_000.0)
    verifier = TokenVerifier("t", clock)
    params = sign("t", utc_ts(clock.now + skew))
    if ok:
        verifier.verify(params)
    else:
        with pytest.raises(AuthFailure, match="off the bridge's clock"):
            verifier.verify(params)


@pytest.mark.parametrize("sign", [hashed, encrypted])
def test_replay_refused_and_forgotten_after_the_window(sign) -> None:
    clock = FakeClock(1_700_000_000.0)
    verifier = TokenVerifier("t", clock)
    params = sign("t", utc_ts(clock.now), rnr=7)
    verifier.verify(params)
    with pytest.raises(AuthFailure, match="replay"):
        verifier.verify(params)
    assert verifier.remembered == 1
    clock.now += 61
    assert verifier.remembered == 0  # bounded memory
    with pytest.raises(AuthFailure, match="off the bridge's clock"):  # and still refused: too old
        verifier.verify(params)


def test_same_ts_with_other_rnr_or_nonce_is_fine() -> None:
    clock = FakeClock(1_700_000_000.0)
    verifier = TokenVerifier("t", clock)
    ts = utc_ts(clock.now)
    verifier.verify(hashed("t", ts, rnr=1))
    verifier.verify(hashed("t", ts, rnr=2))
    verifier.verify(encrypted("t", ts, rnr=1))
    verifier.verify(encrypted("t", ts, rnr=1))  # a different nonce


def test_reused_nonce_is_refused() -> None:
    clock = FakeClock(1_700_000_000.0)
    verifier = TokenVerifier("t", clock)
    nonce = bytes(range(24))
    verifier.verify(encrypted("t", utc_ts(clock.now), rnr=1, nonce=nonce))
    with pytest.raises(AuthFailure):
        verifier.verify(encrypted("t", utc_ts(clock.now), rnr=2, nonce=nonce))


def test_failure_messages_never_contain_the_token() -> None:
    verifier = TokenVerifier("s3cr3t-token", FakeClock(1_700_000_000.0))
    for params in ({"token": "s3cr3t-tokem"}, hashed("s3cr3t-tokem"), encrypted("s3cr3t-tokem")):
        with pytest.raises(AuthFailure) as info:
            verifier.verify(params)
        assert "s3cr3t" not in str(info.value)
