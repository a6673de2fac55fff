"""node-postgres (`pg`), as far as a client can see it: the text a JavaScript value becomes when
Unleash hands it to PostgreSQL as a query parameter (`prepareValue`), which is what a text column
then holds. Where a release's schema leaves a field untyped, any JSON value reaches it."""

from __future__ import annotations

import math
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
