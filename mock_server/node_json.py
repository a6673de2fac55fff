"""JSON as Node.js (and so Unleash) reads and writes it.

Unleash's bodies come from V8's `JSON.parse` and go out through `JSON.stringify`; clients can
see the difference in number formatting, lone surrogates and parse-error messages.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def number_to_string(value: float) -> str:
    """ECMAScript Number::toString: `String(1e21)` is "1e+21", `String(1.0)` is "1"."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest round-tripping digits, the same digits V8 chooses.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + int(exponent)  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def stringify(value: Any) -> str:
    """`JSON.stringify`: compact, non-ASCII kept, lone surrogates escaped, numbers as V8 writes
    them. Raises RecursionError for values nested too deep, as V8 raises RangeError."""
    if value is None or value is True or value is False:
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if isinstance(value, int | float):
        return "null" if math.isinf(value) or math.isnan(value) else number_to_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{stringify(str(k))}:{stringify(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(v) for v in value) + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_SAFE_INT = 2**53


def _plain(value: Any) -> bool:
    """Only strings, booleans, None and integers V8 prints exactly, in dicts with string keys
    and lists: for these the C encoder writes what JSON.stringify writes."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INT <= item <= _SAFE_INT:
                continue
            return False
        if kind is dict:
            if any(type(key) is not str for key in item):
                return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def dumps_bytes(value: Any) -> bytes:
    """`JSON.stringify` as UTF-8; the C encoder where it agrees with V8 (every response body)."""
    if not _plain(value):
        return stringify(value).encode("utf-8")
    text = _ENCODER.encode(value)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def parse(text: str) -> Any:
    """`JSON.parse`; raises ValueError with V8's message for malformed input."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(v8_parse_error(text, exc)) from None
    except RecursionError:
        # V8 parses any depth; Python's parser recurses. The text is valid as far as the
        # recursive parser got, so re-read it without recursion.
        return _parse_deep(text)


_TOKEN = re.compile(
    r'\s*(?:([\[{])|([\]}])|(,)|(:)|("(?:[^"\\\x00-\x1f]|\\.)*")|'
    r"(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))"
)


def _parse_deep(text: str) -> Any:
    """An explicit-stack JSON parser for documents nested deeper than Python's recursion limit."""
    stack: list[list[Any] | dict[str, Any]] = []
    keys: list[str | None] = []
    pos, result, done = 0, None, False
    while True:
        match = _TOKEN.match(text, pos)
        if match is None or done:
            if done and not text[pos:].strip():
                return result
            raise ValueError(f"Unexpected token in JSON at position {pos}")
        pos = match.end()
        opener, closer, _, colon, string, number, literal = match.groups()
        if colon or match.group(3):
            continue  # structure is checked by the tokens that follow, loosely
        if opener:
            stack.append([] if opener == "[" else {})
            keys.append(None)
            continue
        if closer:
            if not stack:
                raise ValueError(f"Unexpected token in JSON at position {pos - 1}")
            value: Any = stack.pop()
            keys.pop()
        elif string is not None:
            value = json.loads(string)
            if stack and isinstance(stack[-1], dict) and keys[-1] is None:
                keys[-1] = value
                continue
        elif number is not None:
            value = json.loads(number)
        else:
            value = {"true": True, "false": False, "null": None}[literal]
        if not stack:
            result, done = value, True
        elif isinstance(stack[-1], dict):
            stack[-1][keys[-1]] = value
            keys[-1] = None
        else:
            stack[-1].append(value)


def _reject_constant(name: str) -> Any:
    # Python accepts NaN/Infinity literals; V8 does not.
    raise json.JSONDecodeError("Expecting value", name, 0)


def v8_parse_error(text: str, exc: json.JSONDecodeError) -> str:
    """Translate a Python JSON error into the message Node 20's `JSON.parse` gives."""
    pos = exc.pos
    if exc.doc is not text:  # raised by _reject_constant: find where the literal starts
        pos = _first_bad_literal(text)
    if pos >= len(text.rstrip(" \t\n\r")) and exc.msg != "Extra data":
        if exc.msg.startswith("Unterminated string"):
            return f"Unterminated string in JSON at position {len(text)}"
        return "Unexpected end of JSON input"
    msg = exc.msg
    literal = {"t": "true", "f": "false", "n": "null"}.get(text[pos : pos + 1])
    if literal and msg == "Expecting value":
        # V8 reads a literal letter by letter and fails at the first letter that differs.
        matched = 0
        while pos + matched < len(text) and text[pos + matched] == literal[matched]:
            matched += 1
        if pos + matched >= len(text):
            return "Unexpected end of JSON input"
        pos += matched
    char = text[pos] if pos < len(text) else ""
    if msg == "Extra data":
        return f"Unexpected non-whitespace character after JSON at position {pos}"
    if msg.startswith("Expecting property name"):
        if char == "}" or _after_comma(text, pos):
            return f"Expected double-quoted property name in JSON at position {pos}"
        return f"Expected property name or '}}' in JSON at position {pos}"
    if msg == "Expecting ':' delimiter":
        return f"Expected ':' after property name in JSON at position {pos}"
    if msg == "Expecting ',' delimiter":
        closer = "}" if _innermost_open(text, pos) == "{" else "]"
        kind = "property value" if closer == "}" else "array element"
        return f"Expected ',' or '{closer}' after {kind} in JSON at position {pos}"
    if msg.startswith("Invalid control character"):
        return f"Bad control character in string literal in JSON at position {pos}"
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        return f"Bad escaped character in JSON at position {pos}"
    if msg.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {len(text)}"
    return f"Unexpected token '{char}', {_context(text, pos)} is not valid JSON"


def _context(text: str, pos: int, width: int = 10) -> str:
    """V8's GetErrorMessageWithEllipses: the source, or `width` characters around the error."""
    if len(text) <= 2 * width + 1:
        return f'"{text}"'
    if pos < width:
        return f'"{text[: pos + width]}"...'
    if pos >= len(text) - width:
        return f'..."{text[pos - width :]}"'
    return f'..."{text[pos - width : pos + width]}"...'


def _after_comma(text: str, pos: int) -> bool:
    before = text[:pos].rstrip(" \t\n\r")
    return before.endswith(",")


def _innermost_open(text: str, pos: int) -> str:
    depth: list[str] = []
    in_string = escaped = False
    for ch in text[:pos]:
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth.append(ch)
        elif ch in "}]" and depth:
            depth.pop()
    return depth[-1] if depth else ""


def _first_bad_literal(text: str) -> int:
    match = re.search(r"-?(NaN|Infinity)", text)
    return match.start() if match else 0
