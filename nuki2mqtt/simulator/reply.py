"""What the simulated bridge answers: a status with a JSON body, or a bare error line.

Endpoints return a :class:`Reply` or raise :class:`HttpError` (which becomes a bare
``Reply(status)``); only :meth:`Reply.payload` makes bytes, so the wire format lives in one place.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None means an empty body
    after: Callable[[], object] | None = field(default=None, repr=False)

    def payload(self) -> tuple[bytes, str]:
        if self.status >= 400:
            text = f"HTTP {self.status} {phrase(self.status)}"
            return text.encode("ascii"), "text/plain"
        if self.body is None:
            return b"", "text/plain"
        return json.dumps(self.body).encode("utf-8"), "application/json"


class HttpError(Exception):
    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(reason)
        self.status = status


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
