"""The Bridge API's three ways of sending the token (see ../shared/specs/NOTES.md).

Pure functions: the clock, the random number and the nonce can be injected, so the
exact bytes on the wire are testable. Hashed and encrypted tokens are single-use on
the bridge, so a caller builds fresh parameters for every request.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone

from nacl.secret import SecretBox

from nuki2mqtt.const import TokenMode

#: Query parameters whose values are secrets, or derived from the token.
#: ``nounce`` is the document's misspelling, redacted in case someone copies it.
SECRET_PARAMS: tuple[str, ...] = ("token", "hash", "ctoken", "nonce", "nounce")

REDACTED = "***"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_RNR_LIMIT = 1 << 16
_SECRET_PARAM_RE = re.compile(r"(?<=[?&;])(" + "|".join(SECRET_PARAMS) + r")=[^&;#]*")


def format_ts(now: datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ``; a naive datetime is taken to be UTC already."""
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return now.strftime(_TS_FORMAT)


def random_rnr() -> int:
    """A random ``rnr`` in 0..65535 (uint16, as the bridge expects)."""
    return secrets.randbelow(_RNR_LIMIT)


def hashed_token(token: str, ts: str, rnr: int) -> str:
    """``sha256("<ts>,<rnr>,<token>")`` as lowercase hex (the deprecated hashed token)."""
    return hashlib.sha256(f"{ts},{rnr},{token}".encode("utf-8")).hexdigest()


def token_key(token: str) -> bytes:
    """The encrypted token's key: the raw 32-byte sha256 digest of the token, not its hex."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def encrypted_token(token: str, ts: str, rnr: int, nonce: bytes) -> str:
    """Hex of SecretBox("<ts>,<rnr>") without the nonce prefix NaCl normally prepends."""
    if len(nonce) != SecretBox.NONCE_SIZE:
        raise ValueError(f"nonce must be {SecretBox.NONCE_SIZE} bytes, got {len(nonce)}")
    box = SecretBox(token_key(token))
    return box.encrypt(f"{ts},{rnr}".encode("utf-8"), nonce).ciphertext.hex()


def token_params(
    token: str,
    mode: TokenMode | str,
    *,
    now: datetime | None = None,
    rnr: int | None = None,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """The query parameters that authenticate one request in ``mode``."""
    mode = TokenMode(mode)
    if mode is TokenMode.PLAIN:
        return {"token": token}
    ts = format_ts(now if now is not None else datetime.now(timezone.utc))
    if rnr is None:
        rnr = random_rnr()
    if not 0 <= rnr < _RNR_LIMIT:
        raise ValueError(f"rnr must be in 0..{_RNR_LIMIT - 1}")
    if mode is TokenMode.HASHED:
        return {"ts": ts, "rnr": str(rnr), "hash": hashed_token(token, ts, rnr)}
    if nonce is None:
        nonce = secrets.token_bytes(SecretBox.NONCE_SIZE)
    return {"ctoken": encrypted_token(token, ts, rnr, nonce), "nonce": nonce.hex()}


def redact_url(url: str) -> str:
    """``url`` with the values of token, hash, ctoken and nonce replaced by ``***``; fit for logs."""
    return _SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", url)
