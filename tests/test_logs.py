"""Secret masking and the root logger setup."""
from __future__ import annotations

import io
import logging
import uuid
from typing import Iterable, Iterator

import pytest

from nuki2mqtt.logs import MASK, SecretFilter, setup_logging

SECRET = "s3cr3tT0ken"
QUIET = ("urllib3", "nuki2mqtt.paho")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging rewires the root logger (pytest's capture handlers too): put it back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in QUIET}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in levels.items():
        logging.getLogger(name).setLevel(quiet_level)


def masked_logger(secrets: Iterable[str | None]) -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own whose one handler masks ``secrets`` and writes to the returned stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(SecretFilter(secrets))
    logger = logging.getLogger(f"tests.logs.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger, stream


def test_a_secret_in_the_message_is_masked() -> None:
    logger, stream = masked_logger([SECRET])
    logger.info(f"GET /list?token={SECRET}&x={SECRET}")
    assert stream.getvalue() == f"INFO GET /list?token={MASK}&x={MASK}\n"


def test_a_secret_in_the_arguments_is_masked() -> None:
    logger, stream = masked_logger([SECRET])
    logger.debug("request %s answered %d", f"http://bridge/list?token={SECRET}", 200)
    assert stream.getvalue() == f"DEBUG request http://bridge/list?token={MASK} answered 200\n"


def test_a_secret_in_a_traceback_is_masked() -> None:
    logger, stream = masked_logger([SECRET])
    try:
        raise ValueError(f"bad token {SECRET}")
    except ValueError:
        logger.exception("request failed")
    text = stream.getvalue()
    assert text.startswith("ERROR request failed\nTraceback (most recent call last):")
    assert f"ValueError: bad token {MASK}" in text
    assert SECRET not in text


def test_the_longest_secret_is_masked_first() -> None:
    """A secret containing a shorter one disappears whole, not as ``***`` plus its tail."""
    logger, stream = masked_logger(["s3cr", SECRET])
    logger.info("token %s", SECRET)
    assert stream.getvalue() == f"INFO token {MASK}\n"


@pytest.mark.parametrize("secrets", [[None, ""], [None, "", "abc"], []])
def test_empty_and_short_secrets_mask_nothing(secrets: list[str | None]) -> None:
    logger, stream = masked_logger(secrets)
    logger.info("abc %s at %d%%", "def", 100)
    assert stream.getvalue() == "INFO abc def at 100%\n"


def test_unknown_secrets_are_ignored_and_known_ones_still_masked() -> None:
    logger, stream = masked_logger([None, "", SECRET])
    logger.warning("plain text, then %s", SECRET)
    assert stream.getvalue() == f"WARNING plain text, then {MASK}\n"


def test_a_message_without_a_secret_keeps_its_arguments() -> None:
    """Only a masked message is flattened; other handlers still see msg and args as logged."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "device %s", ("front door",), None)
    assert SecretFilter([SECRET]).filter(record) is True
    assert (record.msg, record.args) == ("device %s", ("front door",))


def root_stream_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]


def test_setup_logging_replaces_the_root_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    stale = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(stale)
    setup_logging("info", [SECRET])
    setup_logging("info", [SECRET])
    handlers = logging.getLogger().handlers
    assert len(handlers) == 1 and handlers[0] is not stale
    assert any(isinstance(f, SecretFilter) for f in handlers[0].filters)
    logging.getLogger("nuki2mqtt.test").info("token %s", SECRET)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1  # one handler, one line
    assert lines[0].endswith(f" INFO    nuki2mqtt.test: token {MASK}")
    assert stale.stream.getvalue() == ""


@pytest.mark.parametrize(("level", "expected"), [("debug", logging.DEBUG), ("WARNING", logging.WARNING),
                                                 ("error", logging.ERROR), ("nonsense", logging.INFO)])
def test_setup_logging_sets_the_root_level(level: str, expected: int) -> None:
    setup_logging(level)
    assert logging.getLogger().level == expected


def test_setup_logging_quiets_the_libraries_unless_debugging() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET)
    setup_logging("debug")
    assert logging.getLogger("urllib3").level == logging.WARNING
    assert logging.getLogger("nuki2mqtt.paho").level == logging.CRITICAL


def test_debug_flag_wins_and_leaves_the_libraries_talking() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET)
    setup_logging("error", debug=True)
    assert logging.getLogger().level == logging.DEBUG
    assert [logging.getLogger(name).level for name in QUIET] == [logging.NOTSET, logging.NOTSET]
    assert len(root_stream_handlers()) == 1
