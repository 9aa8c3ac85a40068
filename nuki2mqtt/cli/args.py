"""Argument types shared by the commands: a bad value becomes argparse's usage error (exit 2)."""
from __future__ import annotations

import argparse
import math
from urllib.parse import urlsplit


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def delay(text: str) -> float:
    """A number of seconds from 0 to an hour (a simulated duration; 0 means none)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return value


def port(text: str, *, lowest: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not lowest <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between {lowest} and 65535")
    return value


def port_or_zero(text: str) -> int:
    """A port, or 0 for any free one."""
    return port(text, lowest=0)


def http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, not {text!r}")
    return text
