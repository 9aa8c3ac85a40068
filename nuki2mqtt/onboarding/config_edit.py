"""Writing a bridge token into a configuration file without disturbing the rest of it.

A YAML round trip through a parser would drop the user's comments, so the file is
edited as text: PyYAML's node tree gives the exact character positions of the
``bridges:`` entries, and only the token's value (or a new entry) is spliced in.
The result is parsed again before it is written, and written atomically.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from nuki2mqtt.const import DEFAULT_BRIDGE_PORT, TokenMode

#: A plain YAML scalar that reads back as the same string (no quoting needed).
_PLAIN_RE = re.compile(r"[A-Za-z0-9._-]+")
#: Numbers to YAML 1.2 readers even where PyYAML (YAML 1.1) reads a string, e.g. ``1e5``.
_NUMBER_RE = re.compile(r"[-+]?(\.\d+|\d+(\.\d*)?)([eE][-+]?\d+)?")
_ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_NULL_TAG = "tag:yaml.org,2002:null"

NEW_FILE_HEADER = (
    "# nuki2mqtt configuration, started by `nuki2mqtt pair`.\n"
    "# Every option is described in config.example.yaml; check this file with\n"
    "# `nuki2mqtt check-config --online`.\n"
)

ADDED = "added"
UPDATED = "updated"
CREATED = "created"
UNCHANGED = "unchanged"
FROM_ENV = "from-env"


class ConfigEditError(Exception):
    """The file cannot be edited safely; the message says what to do by hand (never the token)."""


@dataclass(frozen=True)
class TokenEdit:
    """What :func:`write_token` did. ``env_var`` is set when the entry reads its token from ``${VAR}``."""

    path: Path
    action: str  # ADDED, UPDATED, CREATED, UNCHANGED or FROM_ENV (file left alone)
    index: int  # position of the entry in bridges:
    env_var: str | None = None


def write_token(
    path: str | os.PathLike[str],
    host: str,
    port: int,
    token: str,
    token_mode: TokenMode = TokenMode.ENCRYPTED,
) -> TokenEdit:
    """Put ``token`` into the ``bridges:`` entry for ``host:port``, adding the entry (or the file) if missing.

    An entry whose token is an ``${VAR}`` reference is left alone: the caller tells the
    user to set that variable instead of replacing it with the literal token.
    """
    file = Path(path)
    try:
        text = _read(file) if file.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    if text is None:
        edited = NEW_FILE_HEADER + "\n" + _new_section(host, port, token, token_mode, "\n")
        action, index, env_var = CREATED, 0, None
    else:
        edited, action, index, env_var = edit_text(text, host, port, token, token_mode)
    if action in (FROM_ENV, UNCHANGED):
        return TokenEdit(file, action, index, env_var)
    _check_result(edited, index, token, file)
    _write_atomically(file, edited)
    return TokenEdit(file, action, index, None)


def edit_text(
    text: str, host: str, port: int, token: str, token_mode: TokenMode = TokenMode.ENCRYPTED
) -> tuple[str, str, int, str | None]:
    """The edited text, the action, the entry's index and the ``${VAR}`` name if the token comes from one."""
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise ConfigEditError("the file is not valid YAML; fix it first (nuki2mqtt check-config shows where)") from None
    if root is None:  # empty, or comments only
        return _append(text, _new_section(host, port, token, token_mode, newline), newline), ADDED, 0, None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise ConfigEditError("the file's top level is not a block mapping (mqtt:, bridges:, ...)")
    bridges_key, bridges = _lookup(root, "bridges")
    if bridges is None:
        return _append(text, _new_section(host, port, token, token_mode, newline), newline), ADDED, 0, None
    if isinstance(bridges, yaml.ScalarNode) and bridges.tag == _NULL_TAG:
        return _fill_empty(text, bridges_key, bridges, host, port, token, token_mode, newline), ADDED, 0, None
    if not isinstance(bridges, yaml.SequenceNode):
        raise ConfigEditError("bridges: is not a list; edit it by hand")
    if bridges.flow_style:
        if bridges.value:
            raise ConfigEditError("bridges: is written as a [...] list; edit it by hand")
        return _fill_empty(text, bridges_key, bridges, host, port, token, token_mode, newline), ADDED, 0, None
    for index, item in enumerate(bridges.value):
        if _same_bridge(item, host, port):
            env_var = _env_reference(item)
            if env_var is not None:
                return text, FROM_ENV, index, env_var
            edited, action = _update_entry(text, item, index, token, newline)
            return edited, action, index, None
    entry = _entry_lines(host, port, token, token_mode)
    return _add_entry(text, bridges, entry, newline), ADDED, len(bridges.value), None


# --------------------------------------------------------------------------- finding


def _lookup(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node | None, yaml.Node | None]:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None, None


def _scalar(mapping: yaml.Node, key: str) -> str | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    _, value = _lookup(mapping, key)
    return value.value if isinstance(value, yaml.ScalarNode) else None


def _same_bridge(item: yaml.Node, host: str, port: int) -> bool:
    entry_host = _scalar(item, "host")
    if entry_host is None or entry_host.strip().strip("[]").lower() != host.strip("[]").lower():
        return False
    entry_port = _scalar(item, "port")
    try:
        return (int(entry_port) if entry_port not in (None, "") else DEFAULT_BRIDGE_PORT) == int(port)
    except ValueError:
        return False


def _env_reference(item: yaml.Node) -> str | None:
    """The variable name when the entry's token is ``${VAR}``."""
    token = _scalar(item, "token")
    match = _ENV_REF_RE.fullmatch(token.strip()) if token else None
    return match.group(1) if match else None


# --------------------------------------------------------------------------- splicing


def _update_entry(text: str, item: yaml.Node, index: int, token: str, newline: str) -> tuple[str, str]:
    if not isinstance(item, yaml.MappingNode) or item.flow_style:
        raise ConfigEditError(f"bridges.{index} is not a block mapping; edit its token by hand")
    key_node, value = _lookup(item, "token")
    if key_node is None or value is None:
        line_end = _line_end(text, _last_scalar(item).end_mark.index)
        indent = " " * item.start_mark.column
        return text[:line_end] + newline + f"{indent}token: {quote(token)}" + text[line_end:], UPDATED
    if not isinstance(value, yaml.ScalarNode) or value.style in ("|", ">"):
        raise ConfigEditError(f"bridges.{index}.token is not a one-line value; edit it by hand")
    if value.start_mark.index < key_node.end_mark.index:
        raise ConfigEditError(f"bridges.{index}.token is a YAML alias; edit it by hand")
    if value.value == token:
        return text, UNCHANGED
    start, end = value.start_mark.index, value.end_mark.index
    if value.tag == _NULL_TAG and start == end:  # "token:" with nothing after it
        return text[:start] + " " + quote(token) + text[end:], UPDATED
    return text[:start] + quote(token) + text[end:], UPDATED


def _add_entry(text: str, bridges: yaml.SequenceNode, entry: list[str], newline: str) -> str:
    last = bridges.value[-1]
    line_start = text.rfind("\n", 0, last.start_mark.index) + 1
    dash = text.find("-", line_start, last.start_mark.index)
    dash_column = (dash - line_start) if dash >= 0 else max(last.start_mark.column - 2, 0)
    key_column = last.start_mark.column if isinstance(last, yaml.MappingNode) else dash_column + 2
    lines = _indent_entry(entry, dash_column, key_column)
    line_end = _line_end(text, _last_scalar(last).end_mark.index)
    return text[:line_end] + newline + newline.join(lines) + text[line_end:]


def _fill_empty(
    text: str,
    key: yaml.Node | None,
    value: yaml.Node,
    host: str,
    port: int,
    token: str,
    token_mode: TokenMode,
    newline: str,
) -> str:
    """``bridges:`` with nothing, ``~`` or ``[]`` after it: the value becomes a block list."""
    assert key is not None
    column = key.start_mark.column
    lines = _indent_entry(_entry_lines(host, port, token, token_mode), column + 2, column + 4)
    start, end = value.start_mark.index, value.end_mark.index
    head = text[:start].rstrip(" \t") if end > start else text[:start]
    line_end = _line_end(text, end)
    between = text[end:line_end]  # a trailing comment on the bridges: line stays there
    return head + between + newline + newline.join(lines) + text[line_end:]


def _append(text: str, section: str, newline: str) -> str:
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + section.replace("\n", newline)


def _line_end(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (before its newline), comments included."""
    end = text.find("\n", index)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def _last_scalar(node: yaml.Node) -> yaml.Node:
    """The node whose end is the real end of ``node``'s text (a block collection ends at the next token)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


# --------------------------------------------------------------------------- new text


def quote(value: str) -> str:
    """A YAML scalar that reads back as the string ``value`` (``123456`` would read as a number)."""
    if _PLAIN_RE.fullmatch(value) and not _NUMBER_RE.fullmatch(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value)


def _entry_lines(host: str, port: int, token: str, token_mode: TokenMode) -> list[str]:
    lines = [f"host: {quote(host)}"]
    if int(port) != DEFAULT_BRIDGE_PORT:
        lines.append(f"port: {int(port)}")
    lines.append(f"token: {quote(token)}")
    lines.append(f"token_mode: {TokenMode(token_mode).value}")
    return lines


def _indent_entry(lines: list[str], dash_column: int, key_column: int) -> list[str]:
    first = " " * dash_column + "-" + " " * max(key_column - dash_column - 1, 1) + lines[0]
    return [first] + [" " * key_column + line for line in lines[1:]]


def _new_section(host: str, port: int, token: str, token_mode: TokenMode, newline: str) -> str:
    lines = ["bridges:", *_indent_entry(_entry_lines(host, port, token, token_mode), 2, 4)]
    return newline.join(lines) + newline


# --------------------------------------------------------------------------- writing


def _check_result(text: str, index: int, token: str, file: Path) -> None:
    """Refuse to write anything that does not read back with our token in place."""
    try:
        data = yaml.safe_load(text)
        entry = data["bridges"][index]
        ok = entry["token"] == token
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        ok = False
    if not ok:
        raise ConfigEditError(f"could not place the token in {file} safely; nothing was written, add it by hand")


def _read(file: Path) -> str:
    """The text with its line endings as they are (CRLF files stay CRLF)."""
    with open(file, encoding="utf-8", newline="") as handle:
        return handle.read()


def _write_atomically(file: Path, text: str) -> None:
    """Write via a temporary file in the same directory; a new file is readable by its owner only."""
    mode = file.stat().st_mode & 0o777 if file.exists() else 0o600
    directory = file.parent if str(file.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{file.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.chmod(temp, mode)
            os.replace(temp, file)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        raise ConfigEditError(f"cannot write {file}: {exc.strerror or exc}") from None
