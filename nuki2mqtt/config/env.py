"""``${VAR}`` and ``${VAR:-default}`` substitution in the parsed YAML tree."""
from __future__ import annotations

import re
from typing import Any, Mapping

Problem = tuple[tuple[Any, ...], str]

_VAR_RE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute(
    value: Any,
    path: tuple[Any, ...],
    env: Mapping[str, str],
    positions: dict[tuple[Any, ...], int],
    unset: list[tuple[Any, ...]],
    problems: list[Problem],
) -> Any:
    """A copy of ``value`` with ``${VAR}``/``${VAR:-default}`` replaced; ``$${`` is a literal ``${``.

    Also records each key path's position in the document, so errors can be listed
    in file order.
    """
    positions.setdefault(path, len(positions))
    if isinstance(value, Mapping):
        return {k: substitute(v, path + (k,), env, positions, unset, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, path + (i,), env, positions, unset, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        current = env.get(name)
        if default is not None and not current:
            return default
        if current is None:
            missing.append(name)
            return ""
        return current

    result = _VAR_RE.sub(replace, value)
    for name in dict.fromkeys(missing):
        unset.append(path)
        problems.append(
            (path, f"environment variable {name} is not set (set it, or write ${{{name}:-default}})")
        )
    return result
