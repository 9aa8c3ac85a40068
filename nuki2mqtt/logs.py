"""Logging setup: one line per event, and every known secret masked as a last defence.

The code never formats a token or password into a message on purpose; the filter
catches what a library (requests, paho, urllib3) might print at debug level.
"""
from __future__ import annotations

import logging
import sys
from typing import Iterable

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MASK = "***"


class SecretFilter(logging.Filter):
    """Replaces each secret (at least 4 characters long) in the final message by ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, MASK)
        return True


def setup_logging(level: str, secrets: Iterable[str | None] = (), *, debug: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter(secrets))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO))
    if not debug:
        # Libraries are chatty; their problems are reported by our own lines (e.g. "cannot reach the
        # MQTT broker ..."), so paho's own "Client is not connected" errors only show with --debug.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("nuki2mqtt.paho").setLevel(logging.CRITICAL)
