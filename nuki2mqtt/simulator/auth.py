"""The bridge side of the three token modes (NOTES.md): plain, hashed and encrypted.

Written independently of the client's signing code on purpose: if both shared one
helper, a bug in it would make them agree with each other and disagree with a real
bridge. Failure reasons never contain the token or anything derived from it.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import threading
from datetime import datetime, timezone
from typing import Callable, Mapping

import nacl.exceptions
import nacl.secret

from nuki2mqtt.const import TokenMode

#: A hashed or encrypted token is valid this long either side of the bridge's clock.
TOKEN_WINDOW = 60.0
#: Query parameters that carry (or reveal) the token; never recorded or logged.
SECRET_PARAMS: frozenset[str] = frozenset({"token", "ctoken", "nonce", "hash"})

_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_RNR_RE = re.compile(r"\d{1,5}")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")
_NONCE_BYTES = nacl.secret.SecretBox.NONCE_SIZE  # 24


class AuthFailure(Exception):
    """The request is not authorised (HTTP 401); the message is safe to log."""


def hash_token(ts: str, rnr: str | int, token: str) -> str:
    """The hashed token: lowercase hex sha256 of ``"<ts>,<rnr>,<token>"``."""
    return hashlib.sha256(f"{ts},{rnr},{token}".encode("utf-8")).hexdigest()


def token_key(token: str) -> bytes:
    """The SecretBox key of the encrypted token: the raw 32-byte sha256 digest of the token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def decrypt_ctoken(key: bytes, ctoken_hex: str, nonce_hex: str) -> str:
    """The plaintext ``"<ts>,<rnr>"`` of an encrypted token (ciphertext without nonce prefix)."""
    if not _HEX_RE.fullmatch(ctoken_hex) or not _HEX_RE.fullmatch(nonce_hex):
        raise AuthFailure("ctoken or nonce is not hex")
    nonce = bytes.fromhex(nonce_hex)
    if len(nonce) != _NONCE_BYTES:
        raise AuthFailure(f"nonce must be {_NONCE_BYTES} bytes")
    try:
        plain = nacl.secret.SecretBox(key).decrypt(bytes.fromhex(ctoken_hex), nonce)
    except nacl.exceptions.CryptoError:
        raise AuthFailure("ctoken does not decrypt with this bridge's token") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthFailure("ctoken plaintext is not UTF-8") from None


def parse_ts(ts: str) -> float:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) as epoch seconds."""
    if not _TS_RE.fullmatch(ts):
        raise AuthFailure("ts is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        moment = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise AuthFailure("ts is not a valid date") from None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def parse_rnr(rnr: str) -> int:
    """The random number: an integer 0..65535."""
    if not _RNR_RE.fullmatch(rnr) or int(rnr) > 0xFFFF:
        raise AuthFailure("rnr is not an integer 0..65535")
    return int(rnr)


class TokenVerifier:
    """Checks the token of one request; remembers used hashed/encrypted tokens to refuse replays.

    Used tokens are forgotten once their timestamp has left the window (they would be
    refused as too old from then on), so memory stays bounded. Thread-safe.
    """

    def __init__(self, token: str, clock: Callable[[], float], window: float = TOKEN_WINDOW) -> None:
        self._token = token
        self._key = token_key(token)
        self._clock = clock
        self.window = window
        self._lock = threading.Lock()
        self._used: dict[tuple[str, ...], float] = {}
        self._expiry: list[tuple[float, tuple[str, ...]]] = []

    @property
    def remembered(self) -> int:
        """How many used tokens are remembered now (for tests of the memory bound)."""
        with self._lock:
            self._forget_expired(self._clock())
            return len(self._used)

    def verify(self, params: Mapping[str, str]) -> TokenMode:
        """The mode the request authenticated with; AuthFailure when it did not."""
        if "ctoken" in params or "nonce" in params:
            self._verify_encrypted(params.get("ctoken", ""), params.get("nonce", ""))
            return TokenMode.ENCRYPTED
        if "hash" in params:
            self._verify_hashed(params.get("ts", ""), params.get("rnr", ""), params["hash"])
            return TokenMode.HASHED
        if "token" in params:
            if not hmac.compare_digest(params["token"].encode("utf-8"), self._token.encode("utf-8")):
                raise AuthFailure("wrong plain token")
            return TokenMode.PLAIN
        raise AuthFailure("no token parameters")

    def _verify_hashed(self, ts: str, rnr: str, given: str) -> None:
        if not ts or not rnr:
            raise AuthFailure("hashed token without ts or rnr")
        moment = parse_ts(ts)
        parse_rnr(rnr)
        expected = hash_token(ts, rnr, self._token)
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii")):
            raise AuthFailure("wrong hashed token")
        self._check_fresh_and_use(moment, ("hashed", ts, rnr))

    def _verify_encrypted(self, ctoken: str, nonce: str) -> None:
        if not ctoken or not nonce:
            raise AuthFailure("encrypted token without ctoken or nonce")
        plain = decrypt_ctoken(self._key, ctoken, nonce)
        ts, sep, rnr = plain.partition(",")
        if not sep:
            raise AuthFailure("ctoken plaintext is not '<ts>,<rnr>'")
        moment = parse_ts(ts)
        parse_rnr(rnr)
        # A nonce is single-use: a replay, or a client reusing nonces (which breaks the cipher).
        self._check_fresh_and_use(moment, ("encrypted", nonce.lower()))

    def _check_fresh_and_use(self, moment: float, key: tuple[str, ...]) -> None:
        with self._lock:
            now = self._clock()
            if abs(now - moment) > self.window:
                raise AuthFailure(f"timestamp is {now - moment:+.0f} s off the bridge's clock")
            self._forget_expired(now)
            if key in self._used:
                raise AuthFailure("token already used (replay)")
            expires = moment + self.window
            self._used[key] = expires
            heapq.heappush(self._expiry, (expires, key))

    def _forget_expired(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, key = heapq.heappop(self._expiry)
            self._used.pop(key, None)
