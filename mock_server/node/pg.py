"""node-postgres (`pg`) and PostgreSQL, as far as a client can see them: the text a JavaScript
value becomes when Unleash hands it to PostgreSQL as a query parameter (`prepareValue`), which
is what a text column then holds (where a release's schema leaves a field untyped, any JSON value
reaches it); what a varchar column stores; how ILIKE matches."""

from __future__ import annotations

import math
import re
from typing import Any

from mock_server.node.javascript import number_to_string, stringify


def truthy(value: Any) -> bool:
    """JavaScript's truthiness of a JSON value: false, 0, NaN, "" and null are falsy."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def text(value: Any) -> str:
    """`prepareValue(value)` for a non-null JSON value: strings as they are, numbers and booleans
    as JavaScript writes them, arrays as PostgreSQL array literals, objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    if isinstance(value, list):
        return _array(value)
    return stringify(value)


def _array(items: list[Any]) -> str:
    """`arrayString`: `{…}`, null elements as NULL, nested arrays as they are, every other element
    prepared, then quoted with backslash and double quote escaped."""
    parts = []
    for item in items:
        if item is None:
            parts.append("NULL")
        elif isinstance(item, list):
            parts.append(_array(item))
        else:
            escaped = text(item).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{escaped}"')
    return "{" + ",".join(parts) + "}"


class TooLong(ValueError):
    """A value longer than its varchar column: PostgreSQL refuses the write."""


def varchar(value: str, limit: int) -> str:
    """What a `varchar(limit)` column stores of `value`: the value; cut to `limit` characters
    where all beyond it are spaces (PostgreSQL's rule); else TooLong."""
    if len(value) <= limit:
        return value
    if value[limit:].strip(" "):
        raise TooLong(value)
    return value[:limit]


_WILDCARD = re.compile(r"\\(.)|(%+)|(_)|([^\\%_]+)|(\\)$", re.DOTALL)


def ilike(pattern: str) -> re.Pattern[str]:
    """`value ILIKE pattern` as a compiled expression to `fullmatch` values with: `%` any run,
    `_` any one character, a backslash makes the next character literal, case ignored. Each
    segment between `%`s takes its leftmost place, in an atomic group (which is correct for
    `%`-separated segments): no backtracking across segments, so time stays linear in the
    value for each segment, however many `%`s a client sends."""
    segments: list[str] = [""]  # expressions of the text between `%`s
    for escaped, run, one, literal, trailing in _WILDCARD.findall(pattern):
        if run:
            segments.append("")
        else:
            piece = escaped or literal or trailing
            segments[-1] += "." if one else re.escape(piece)
    if len(segments) == 1:
        expression = segments[0]
    else:
        first, *middle, last = segments
        expression = first + "".join(f"(?>.*?{s})" for s in middle) + f".*{last}"
    return re.compile(expression, re.IGNORECASE | re.DOTALL)
