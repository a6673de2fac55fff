"""JSON as Node.js (and so Unleash) reads and writes it.

Unleash's bodies come from V8's `JSON.parse` and go out through `JSON.stringify`; clients can
see the difference in number formatting, lone surrogates and parse-error messages.
"""

from __future__ import annotations

import functools
import json
import math
import re
from decimal import Decimal
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# ECMAScript WhiteSpace and LineTerminator: what String#trim and Number() strip.
JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# StringNumericLiteral. Possessive quantifiers: no backtracking, so linear in the input.
_JS_DECIMAL = re.compile(
    r"[+-]?+(?:Infinity|(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+)"
)
_JS_NON_DECIMAL = {
    "x": (re.compile(r"[0-9a-fA-F]++"), 16),
    "o": (re.compile(r"[0-7]++"), 8),
    "b": (re.compile(r"[01]++"), 2),
}


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
        items = _property_order({str(k): v for k, v in value.items()})
        return "{" + ",".join(f"{stringify(k)}:{stringify(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(v) for v in value) + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")


def _property_order(obj: dict[str, Any]) -> list[tuple[str, Any]]:
    """A JavaScript object's own-key order: array indices ("0" to "4294967294") ascending,
    then the other names in insertion order."""
    indices = [k for k in obj if _ARRAY_INDEX.fullmatch(k) and int(k) < 2**32 - 1]
    if not indices:
        return list(obj.items())
    first = set(indices)
    return [(k, obj[k]) for k in sorted(indices, key=int)] + [
        (k, v) for k, v in obj.items() if k not in first
    ]


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_SAFE_INT = 2**53


def _plain(value: Any) -> bool:
    """Only strings, booleans, None and integers V8 prints exactly, in dicts with string keys
    that are not array indices (JavaScript puts those first) and lists: for these the C encoder
    writes what JSON.stringify writes."""
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
            if any(type(key) is not str or key[:1].isdigit() for key in item):
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
    try:
        return text.encode("utf-8")  # strict UTF-8 has no lone surrogates: a C-speed check
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


class Unbuilt:
    """A document V8 parses, nested deeper than the C parser reads: checked, built once when
    its value is first read (whichever copy of a request's scope it is read from)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def value(self) -> Any:
        return parse_v8(self.text)


def parse_lazily(text: str) -> Any:
    """`JSON.parse`: raises ValueError with V8's message for malformed input; else returns the
    value or, for a document nested too deep for the C parser, an Unbuilt whose `value` is
    built when first read. Checking allocates nothing; building costs a container per level,
    which a request refused anyway need not pay for."""
    try:
        return parse_shallow(text)
    except (RecursionError, ValueError):
        # Too deep for the C parser, or malformed (where the C parser agrees with V8). V8's
        # algorithm, only checking, raises V8's message and position having allocated nothing
        # (a burst of objects would stall the loop in GC).
        _V8Parser(text, build=False).parse()
    return Unbuilt(text)


def parse_shallow(text: str) -> Any:
    """The C parser, made to read as V8 reads: V8's value for any text not nested too deep for
    it (then RecursionError); ValueError (with Python's message) where V8 fails."""
    return json.loads(text, parse_constant=_reject_constant, parse_int=float)


def parse_v8(text: str) -> Any:
    """V8's algorithm alone, which `parse_lazily` falls back to: any depth, V8's messages."""
    return _V8Parser(text, build=True).parse()


def _loads(text: str) -> Any:
    # V8 reads every JSON number as a double: past 2**53 it rounds, past ~1.8e308 it is Infinity
    # (and float(), unlike int(), has no 4,300-digit limit).
    return json.loads(text, parse_int=float)


def _reject_constant(name: str) -> Any:
    # Python accepts NaN/Infinity literals; V8 does not.
    raise ValueError(name)


# V8's JSON parse-error templates (src/common/message-template.h).
_END = "Unexpected end of JSON input"
_PROPERTY_NAME_OR_BRACE = "Expected property name or '}' in JSON at position %d"
_DOUBLE_QUOTED_NAME = "Expected double-quoted property name in JSON at position %d"
_COLON = "Expected ':' after property name in JSON at position %d"
_COMMA_OR_BRACKET = "Expected ',' or ']' after array element in JSON at position %d"
_COMMA_OR_BRACE = "Expected ',' or '}' after property value in JSON at position %d"
_AFTER_JSON = "Unexpected non-whitespace character after JSON at position %d"
_UNTERMINATED_STRING = "Unterminated string in JSON at position %d"
_CONTROL_CHARACTER = "Bad control character in string literal in JSON at position %d"
_BAD_UNICODE_ESCAPE = "Bad Unicode escape in JSON at position %d"
_BAD_ESCAPE = "Bad escaped character in JSON at position %d"
_NO_NUMBER_AFTER_MINUS = "No number after minus sign in JSON at position %d"
_UNTERMINATED_FRACTION = "Unterminated fractional number in JSON at position %d"
_EXPONENT_MISSING = "Exponent part is missing a number in JSON at position %d"
# Whole sources V8 names instead of pointing at a token (JsonParser::IsSpecialString).
_SPECIAL_SOURCES = frozenset({"NaN", "Infinity", "undefined", "[object Object]"})
_CONTEXT = 10  # kMaxContextCharacters: the sources shorter than 2*10+1 are quoted whole

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WELL_FORMED_STRING = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
_NUMBER = r"(?>-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?)"
# What a run may hold: the C parser reads these without recursing.
_SCALAR = (
    f"(?:{_WELL_FORMED_STRING}|{_NUMBER}|true|false|null"
    r"|\[[ \t\n\r]*+\]|\{[ \t\n\r]*+\})"
)
# A run of openers, "[" and '{"name":' (a name without escapes), each a level deeper.
# (A run of "[" is one character class: the engine takes it at a few ns a character.)
_OPENERS = r'(?:\[[\[ \t\n\r]*+|\{[ \t\n\r]*+"[^"\\\x00-\x1f]*+"[ \t\n\r]*+:[ \t\n\r]*+)++'
_VALUE = re.compile(
    r"[ \t\n\r]*+(?:(" + _OPENERS + r")|(\{)|(" + _WELL_FORMED_STRING + r")"
    # A number not followed by what could make V8 read it differently ("01", "1.", "1e").
    r"|(" + _NUMBER + r"(?![0-9.eE]))|(true|false|null))"
)
# Runs of plain elements or members, each followed by a comma: valid JSON once bracketed.
_ELEMENT_RUN = re.compile(r"(?:[ \t\n\r]*+" + _SCALAR + r"[ \t\n\r]*+,)++")
_MEMBER_RUN = re.compile(
    r"(?:[ \t\n\r]*+"
    + _WELL_FORMED_STRING
    + r"[ \t\n\r]*+:[ \t\n\r]*+"
    + _SCALAR
    + r"[ \t\n\r]*+,)++"
)
_CLOSE_ARRAY = re.compile(r"[ \t\n\r]*+\]")
_CLOSER_OF = str.maketrans("[{", "]}", ": \t\n\r")  # a run of openers to their closers
_CLOSERS = re.compile(r"[ \t\n\r]*+[\]}][\]} \t\n\r]*+")
_NO_WHITESPACE = str.maketrans("", "", " \t\n\r")
_CLOSE_OBJECT = re.compile(r"[ \t\n\r]*+\}")
_KEY = re.compile(r"[ \t\n\r]*+(" + _WELL_FORMED_STRING + r")[ \t\n\r]*+:")
_AFTER_VALUE = re.compile(r"[ \t\n\r]*+([,\]}]?)")
_PLAIN_CHARS = re.compile(r'[^"\\\x00-\x1f]*')
_DIGITS = re.compile(r"[0-9]*")
_HEX4 = re.compile(r"[0-9a-fA-F]{0,4}")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}


class _Failed(Exception):
    """Where V8 stops, and its message template (None: the message depends on the token)."""

    def __init__(self, pos: int, template: str | None = None) -> None:
        self.pos, self.template = pos, template


class _V8Parser:
    """V8's JsonParser::ParseJsonValue: iterative (an explicit stack, so any depth), linear, and
    failing at the same place with the same message."""

    def __init__(self, text: str, *, build: bool) -> None:
        self.text, self.build = text, build

    def parse(self) -> Any:
        try:
            return self._value()
        except _Failed as failed:
            raise ValueError(self._message(failed.pos, failed.template)) from None

    def _ws(self, pos: int) -> int:
        return _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]

    def _value(self) -> Any:
        """Each step takes the fast regex for well-formed input; where it does not match, the
        step is redone character by character, which fails where V8 fails (or, for a number
        the regex is unsure of, reads it as V8 does)."""
        text, end, build = self.text, len(self.text), self.build
        # Open arrays and objects, innermost last; each is None until it has an element or a
        # member (an unclosed run allocates nothing), and stays None when not building.
        containers: list[Any] = []
        closers: list[str] = []  # the bracket that closes each open container
        keys: list[str] = []  # the pending property name of each open object
        pos = 0
        while True:
            # Produce a value; an opening bracket pushes a container and produces again.
            match = _VALUE.match(text, pos)
            if match is None:
                value, pos = self._scalar(self._ws(pos))
            else:
                kind, pos = match.lastindex, match.end()
                if kind == 1:  # a run of openers
                    run = match.group(1)
                    # Names have no quotes in them: split on quotes, every other part is one.
                    parts = run.split('"')
                    names = parts[1::2]
                    shape = "".join(parts[::2]).translate(_CLOSER_OF)
                    if shape[-1] == "]" and (empty := _CLOSE_ARRAY.match(text, pos)):
                        shape = shape[:-1]
                        value, pos = [], empty.end()
                    else:
                        empty = None
                    # Nothing allocated yet, whatever the depth.
                    containers += [None] * len(shape)
                    closers += shape
                    keys += names
                    if empty is None:
                        continue
                elif kind == 2:  # {
                    if (close := _CLOSE_OBJECT.match(text, pos)) is None:
                        key, pos = self._key(pos, _PROPERTY_NAME_OR_BRACE, _COLON)
                        containers.append(None)
                        closers.append("}")
                        keys.append(key)
                        continue
                    value, pos = {}, close.end()
                elif kind == 3:
                    value = match.group(3)[1:-1]
                    if "\\" in value:
                        value = json.loads(match.group(3))
                elif kind == 4:
                    value = float(match.group(4))
                else:
                    value = _LITERALS[match.group(5)[0]][1]
            # Consume it into the open containers, closing those that end here.
            while True:
                # A run of closing brackets: the innermost containers close at once, as far as
                # each bracket is the one its container expects (after that, V8 fails).
                if containers and (run := _CLOSERS.match(text, pos)):
                    closed, pos, shape = self._closed(run, closers)
                    if closed:
                        value = self._close(value, containers[-closed:], keys, shape)
                        del containers[-closed:], closers[-closed:]
                        continue
                after = _AFTER_VALUE.match(text, pos)
                pos, char = after.end(), after.group(1)  # type: ignore[union-attr]
                if not containers:
                    if char or pos < end:
                        raise _Failed(pos - len(char), _AFTER_JSON)
                    return value
                top = containers[-1]
                if closers[-1] == "}":
                    if build:
                        if top is None:
                            top = containers[-1] = {}
                        top[keys[-1]] = value
                    if char == ",":
                        if run := _MEMBER_RUN.match(text, pos):
                            if build:
                                top.update(_loads("{" + text[pos : run.end() - 1] + "}"))
                            pos = run.end()
                        # V8 names the token after a later property name, not the colon.
                        keys[-1], pos = self._key(pos, _DOUBLE_QUOTED_NAME, None)
                        break
                    if char != "}":
                        raise _Failed(pos - len(char), _COMMA_OR_BRACE)
                    keys.pop()
                else:
                    if build:
                        if top is None:
                            top = containers[-1] = []
                        top.append(value)
                    if char == ",":
                        if run := _ELEMENT_RUN.match(text, pos):
                            if build:
                                top.extend(_loads("[" + text[pos : run.end() - 1] + "]"))
                            pos = run.end()
                        break
                    if char != "]":
                        raise _Failed(pos - len(char), _COMMA_OR_BRACKET)
                value = containers.pop()
                closers.pop()

    @staticmethod
    def _closed(run: re.Match[str], closers: list[str]) -> tuple[int, int, str]:
        """How many of the innermost containers a run of closing brackets closes before one
        that V8 refuses (a "}" for an array, or one too many), the position after them, and
        their closing brackets, innermost first."""
        wanted = run.group().translate(_NO_WHITESPACE)
        most = min(len(wanted), len(closers))
        expected = "".join(closers[-1 : -most - 1 : -1])
        if wanted == expected:
            return most, run.end(), expected
        if len(wanted) != len(run.group()):  # white space in between: one step at a time
            return 0, run.start(), ""
        # Bisect for the longest prefix that matches; V8 fails at the bracket after it.
        low, high = 0, most
        while low < high:
            middle = (low + high + 1) // 2
            if wanted[:middle] == expected[:middle]:
                low = middle
            else:
                high = middle - 1
        return low, run.start() + low, expected[:low]

    def _close(self, value: Any, closing: list[Any], keys: list[str], shape: str) -> Any:
        """`value` put into the innermost containers (`closing`, whose closing brackets, from
        the innermost, are `shape`), each closed in turn; returns the outermost of them. Their
        pending names leave `keys`."""
        count = shape.count("}")
        names = reversed(keys[len(keys) - count :])
        del keys[len(keys) - count :]
        if not self.build:
            return None
        if count == 0 and closing.count(None) == len(closing):  # arrays empty until now
            for _ in closing:
                value = [value]
            return value
        for top, closer in zip(reversed(closing), shape, strict=True):
            if top is None:
                value = [value] if closer == "]" else {next(names): value}
            else:
                if closer == "]":
                    top.append(value)
                else:
                    top[next(names)] = value
                value = top
        return value

    def _key(self, pos: int, no_name: str, no_colon: str | None) -> tuple[str, int]:
        """A property name and its colon; returns the name and the position after the colon."""
        match = _KEY.match(self.text, pos)
        if match is not None:
            key = match.group(1)
            return (json.loads(key) if "\\" in key else key[1:-1]), match.end()
        pos = self._ws(pos)
        if not self.text.startswith('"', pos):
            raise _Failed(pos, no_name)
        key, pos = self._string(pos)
        raise _Failed(self._ws(pos), no_colon)

    def _scalar(self, pos: int) -> tuple[Any, int]:
        """A value the fast regex did not take: fails as V8 fails, or reads a number."""
        char = self.text[pos : pos + 1]
        if char == '"':
            return self._string(pos)
        if char == "-" or "0" <= char <= "9":
            return self._number(pos)
        if char and char in _LITERALS:
            return self._literal(pos)
        raise _Failed(pos)

    def _string(self, start: int) -> tuple[str, int]:
        """JsonParser::ScanJsonString from the opening quote; returns the value and the end."""
        text = self.text
        pos = start + 1
        while True:
            pos = _PLAIN_CHARS.match(text, pos).end()  # type: ignore[union-attr]
            char = text[pos : pos + 1]
            if char == '"':
                return json.loads(text[start : pos + 1]), pos + 1
            if not char:
                raise _Failed(pos, _UNTERMINATED_STRING)
            if char != "\\":
                raise _Failed(pos, _CONTROL_CHARACTER)
            escaped = text[pos + 1 : pos + 2]
            if not escaped:
                raise _Failed(pos + 1)
            if escaped == "u":
                hex_end = _HEX4.match(text, pos + 2).end()  # type: ignore[union-attr]
                if hex_end - pos != 6:
                    raise _Failed(hex_end, _BAD_UNICODE_ESCAPE)
                pos = hex_end
            elif escaped in '"\\/bfnrt':
                pos += 2
            else:  # V8 looks up Latin-1 characters only: past U+00FF it names the token
                raise _Failed(pos + 1, _BAD_ESCAPE if escaped <= "\xff" else None)

    def _number(self, start: int) -> tuple[float, int]:
        """JsonParser::ParseJsonNumber."""
        text = self.text
        pos = start + (text[start] == "-")
        if text.startswith("0", pos):
            pos += 1
            if "0" <= text[pos : pos + 1] <= "9":
                raise _Failed(pos)  # a leading zero: V8 reports the next digit as a number
        else:
            digits_end = _DIGITS.match(text, pos).end()  # type: ignore[union-attr]
            if digits_end == pos:
                raise _Failed(pos, _NO_NUMBER_AFTER_MINUS)
            pos = digits_end
        if text.startswith(".", pos):
            digits_end = _DIGITS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if digits_end == pos + 1:
                raise _Failed(pos + 1, _UNTERMINATED_FRACTION)
            pos = digits_end
        if text[pos : pos + 1] in ("e", "E"):
            pos += 1 + (text[pos + 1 : pos + 2] in ("+", "-"))
            digits_end = _DIGITS.match(text, pos).end()  # type: ignore[union-attr]
            if digits_end == pos:
                raise _Failed(pos, _EXPONENT_MISSING)
            pos = digits_end
        return float(text[start:pos]), pos

    def _literal(self, start: int) -> tuple[Any, int]:
        """JsonParser::ScanLiteral: fails at the first letter that differs, or at the end."""
        word, value = _LITERALS[self.text[start]]
        for offset in range(1, len(word)):
            if self.text[start + offset : start + offset + 1] != word[offset]:
                raise _Failed(start + offset)
        return value, start + len(word)

    def _message(self, pos: int, template: str | None) -> str:
        """JsonParser::ReportUnexpectedToken. V8 counts positions in UTF-16 code units."""
        text = self.text
        units = _utf16_units(text)
        at = pos + len(_ASTRAL.findall(text, 0, pos))
        if template is not None:
            return template % at
        char = text[pos : pos + 1]
        if not char:
            return _END
        if char == '"':
            return f"Unexpected string in JSON at position {at}"
        if char == "-" or "0" <= char <= "9":
            return f"Unexpected number in JSON at position {at}"
        if text in _SPECIAL_SOURCES:
            return f'"{text}" is not valid JSON'
        token = f"Unexpected token '{units[at]}',"
        if len(units) < 2 * _CONTEXT + 1:
            message = f'{token} "{units}" is not valid JSON'
        elif at < _CONTEXT:
            message = f'{token} "{units[: at + _CONTEXT]}"... is not valid JSON'
        elif at < len(units) - _CONTEXT:
            message = f'{token} ..."{units[at - _CONTEXT : at + _CONTEXT]}"... is not valid JSON'
        else:
            message = f'{token} ..."{units[at - _CONTEXT :]}" is not valid JSON'
        # Surrogates V8 kept paired are one character again; a split pair stays split.
        return message.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _utf16_units(text: str) -> str:
    """The text with each astral character split into its two surrogates, as V8 indexes it."""

    def split(match: re.Match[str]) -> str:
        offset = ord(match.group()) - 0x10000
        return chr(0xD800 + (offset >> 10)) + chr(0xDC00 + (offset & 0x3FF))

    return _ASTRAL.sub(split, text)


def js_number(text: str) -> float:
    """ECMAScript `Number(text)` for the strings a URL can carry."""
    s = text.strip(JS_WHITESPACE)
    if not s:
        return 0.0
    if s[:1] == "0" and (radix := _JS_NON_DECIMAL.get(s[1:2].lower())):
        digits, base = radix
        if not digits.fullmatch(s, 2):
            return math.nan
        # Over 1,100 significant digits is at least 2**1100 in any of these bases: past the
        # largest double, which V8 rounds to Infinity.
        significant = s[2:].lstrip("0")
        try:
            return math.inf if len(significant) > 1100 else float(int(significant or "0", base))
        except OverflowError:
            return math.inf
    if _JS_DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))  # float() has no digit limit
    return math.nan
