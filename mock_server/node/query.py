"""Express's `req.query` (the `qs` parser, Express 4's "extended" default), read for one key:
what a route's handler and its query validation see."""

from __future__ import annotations

import re
from typing import Any

from mock_server.node.routing import decode_param

# qs's defaults: at most 1,000 parameters are read, an index above 20 makes an object.
PARAMETER_LIMIT = 1000
ARRAY_LIMIT = 20
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _decoded(text: str) -> str:
    """qs's decoder: `+` is a space, then decodeURIComponent, or the text as it is where that
    throws (one malformed escape keeps every other escape too)."""
    return decode_param(text.replace("+", " "))


def value(query_string: bytes, key: str) -> Any:
    """`req.query[key]`: None where absent, a string where given once (`?q=x`, `?q` is ""), a
    list where repeated or written `key[]`/`key[0]`, an object for `key[name]`."""
    plain: list[str] = []
    nested: list[tuple[str, str]] = []  # (what the first bracket holds, value)
    text = query_string.decode("latin-1")
    for part in text.split("&", PARAMETER_LIMIT)[:PARAMETER_LIMIT]:
        if not part:
            continue
        bracket_equals = part.find("]=")
        at = part.find("=") if bracket_equals == -1 else bracket_equals + 1
        name, given = (part, "") if at == -1 else (part[:at], part[at + 1 :])
        name = _decoded(name)
        if name == key:
            plain.append(_decoded(given))
        elif name.startswith(key + "[") and (inner := _BRACKETS.match(name, len(key))):
            nested.append((inner.group(1), _decoded(given)))
    if not nested:
        return None if not plain else plain[0] if len(plain) == 1 else plain
    if all(i.isdigit() and int(i) <= ARRAY_LIMIT for i, _ in nested):
        return plain + [v for _, v in sorted(nested, key=lambda pair: int(pair[0]))]
    if all(i == "" for i, _ in nested):
        return plain + [v for _, v in nested]
    merged: dict[str, Any] = {str(n): v for n, v in enumerate(plain)}
    for inner, given in nested:
        merged[inner] = given if inner not in merged else [merged[inner], given]
    return merged
