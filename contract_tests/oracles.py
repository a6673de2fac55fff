"""What Unleash 8.2.0 does with the values the suite sends, computed on the suite's side.

Written from Unleash's stack, not from the mock, so that a date bug in the mock is a finding:
- "date-time" is ajv-formats 2.1.1 under Ajv 8 (JavaScript regexes: `\\d` is ASCII, `\\s` is
  JavaScript's white space; the time zone is optional; offsets are not range-checked); where a
  release validates with Ajv 6 (5.6.0), Ajv 6's own "fast" regex: an offset required, the day
  of the month and hours up to 29 unchecked (PostgreSQL then refuses what does not exist);
- the string then goes unchanged to PostgreSQL's `timestamptz` (no zone: the database's, UTC),
  which rounds to microseconds, rolls 23:59:60 over and refuses what it cannot read (500);
- node-postgres reads the row into a `Date` (milliseconds, truncated) and JSON shows it with
  `Date#toISOString`;
- a path id is coerced like JavaScript's `Number()` before Ajv's integer check.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

# ECMAScript WhiteSpace and LineTerminator: what `\s` matches and `Number()` trims.
_JS_SPACE = "\t\n\v\f\r\u2028\u2029\ufeff" + "".join(
    chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Zs"
)
_SEPARATOR = re.compile(f"[tT{re.escape(_JS_SPACE)}]")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([zZ]|([+-])([0-9]{2})(:?([0-9]{2}))?)?"
)
# The separators PostgreSQL's date/time reader takes (C `isspace`, and `T`).
_PG_SEPARATORS = frozenset("tT \t\n\v\f\r")
_PG_MAX_OFFSET_HOURS = 15  # "time zone displacement out of range" from +16:00
_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MS_PER_DAY = 86_400_000
_EPOCH = date(1970, 1, 1).toordinal()
_JS_DECIMAL = re.compile(r"[+-]?(Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)")
_JS_RADIX = {"x": 16, "o": 8, "b": 2}


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _parts(text: str) -> tuple[re.Match[str], re.Match[str], str] | None:
    """ajv-formats 2.1.1 `date_time`: the date and time matches and the separator, or None."""
    pieces = _SEPARATOR.split(text)
    if len(pieces) != 2:
        return None
    day, time = _DATE.fullmatch(pieces[0]), _TIME.fullmatch(pieces[1])
    if day is None or time is None:
        return None
    year, month, mday = (int(g) for g in day.groups())
    if not (1 <= month <= 12 and 1 <= mday <= (29 if month == 2 and _leap(year) else _DAYS[month])):
        return None
    hour, minute, second = int(time[1]), int(time[2]), int(time[3])
    leap_second = (hour, minute, second) == (23, 59, 60)  # at any offset
    if not (hour <= 23 and minute <= 59 and second <= 59) and not leap_second:
        return None
    return day, time, text[len(pieces[0])]


# Ajv 6's "fast" date-time, case-insensitive (JavaScript's `\\s`, ASCII `\\d`).
_AJV6 = re.compile(
    f"[0-9]{{4}}-[0-1][0-9]-[0-3][0-9][tT{re.escape(_JS_SPACE)}]"
    r"(?:[0-2][0-9]:[0-5][0-9]:[0-5][0-9]|23:59:60)(?:\.[0-9]+)?(?:[zZ]|[+-][0-9]{2}(?::?[0-9]{2})?)"
)


def _ajv6_parts(text: str) -> tuple[re.Match[str], re.Match[str], str] | None:
    if _AJV6.fullmatch(text) is None:
        return None
    separator = text[10]
    day, time = _DATE.fullmatch(text[:10]), _TIME.fullmatch(text[11:])
    assert day is not None and time is not None  # the regex above is narrower
    return day, time, separator


def is_date_time(text: str, ajv: int = 8) -> bool:
    """Whether Unleash's request validation (Ajv `ajv`) accepts `text` as a "date-time"."""
    return (_ajv6_parts(text) if ajv == 6 else _parts(text)) is not None


def stored_ms(text: str, ajv: int = 8) -> int | None:
    """The instant (ms since the epoch, as the `Date` Unleash answers with) that PostgreSQL
    stores for a date-time Ajv `ajv` accepts, or None where Ajv refuses it (400) or PostgreSQL
    does (Unleash: 500). Unleash's past-expiry check (`new Date(text) < new Date()`) is not
    modelled here."""
    parts = _ajv6_parts(text) if ajv == 6 else _parts(text)
    if parts is None or parts[2] not in _PG_SEPARATORS:
        return None
    day, time, _ = parts
    year, month, mday = (int(g) for g in day.groups())
    hour, minute, second = int(time[1]), int(time[2]), int(time[3])
    micro = round(float("0" + (time[4] or ".0")) * 1_000_000)  # C rint: half to even
    days_in_month = 29 if month == 2 and _leap(year) else _DAYS[month] if 1 <= month <= 12 else 0
    # PostgreSQL reads 24:00:00 as the next midnight and nothing else past 23:59:60.
    midnight = (hour, minute, second, micro) == (24, 0, 0, 0)
    if year == 0 or (second == 60 and micro) or not 1 <= mday <= days_in_month:
        return None  # PostgreSQL: "date/time field value out of range"
    if hour > 23 and not midnight:
        return None
    offset = 0
    if time[6]:
        tz_hours, tz_minutes = int(time[7]), int(time[9] or 0)
        if tz_hours > _PG_MAX_OFFSET_HOURS or tz_minutes > 59:
            return None  # "time zone displacement out of range"
        offset = (tz_hours * 60 + tz_minutes) * (-1 if time[6] == "-" else 1)
    days = date(year, month, mday).toordinal() - _EPOCH
    seconds = ((days * 24 + hour) * 60 + minute - offset) * 60 + second
    # node-postgres: `1000 * parseFloat(".ffffff")`, truncated by `Date.UTC`.
    return seconds * 1000 + math.trunc(1000 * (micro / 1_000_000))


def iso_timestamp(ms: int) -> str:
    """JavaScript's `Date#toISOString` of an instant in ms since the epoch (any year)."""
    days, rest = divmod(ms, _MS_PER_DAY)
    # Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day number.
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    mday = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    shown = f"{year:04d}" if 0 <= year <= 9999 else f"{'+' if year > 0 else '-'}{abs(year):06d}"
    seconds, milli = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{shown}-{month:02d}-{mday:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"


def timestamp(moment: datetime) -> str:
    """`Date#toISOString` of an aware datetime (microseconds truncated, as a Date holds ms)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return iso_timestamp(delta // timedelta(milliseconds=1))


def js_number(text: str) -> float:
    """ECMAScript `Number(text)` (StringToNumber)."""
    s = text.strip(_JS_SPACE)
    if not s:
        return 0.0
    radix = _JS_RADIX.get(s[1:2].lower()) if s[:1] == "0" and len(s) > 2 else None
    if radix is not None:
        try:
            return float(int(s[2:], radix)) if s[2:].isascii() and s[2:].isalnum() else math.nan
        except ValueError:
            return math.nan
    if _JS_DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))
    return math.nan


def gravatar_url(user: dict) -> str:
    """Unleash's generateImageUrl (since 5.6): the SHA-256 of the email, else the username, else
    the id, trimmed and lower-cased, except that one starting with `@` is only trimmed (its test
    is `ident.indexOf('@')`, false at index 0 alone)."""
    ident = str(user.get("email") or user.get("username") or user.get("id"))
    ident = ident.strip(_JS_SPACE) if ident.startswith("@") else ident.lower().strip(_JS_SPACE)
    digest = hashlib.sha256(ident.encode()).hexdigest()
    return f"https://gravatar.com/avatar/{digest}?s=42&d=retro&r=g"


def expiry_warnings(created: datetime, expires: datetime, now: datetime) -> set[str | None]:
    """What Unleash's getTokenExpiryWarning (8.1+, with tokenExpiryNotifications on) may answer
    for a PAT listed at `now` (None: no `expiryWarning`), whatever lead times the server has
    (TOKEN_EXPIRY_NOTIFICATION_DAYS, whole days): `expired` once expired; nothing in the first
    half of the PAT's life, counted in UTC calendar days; past it, `expires-soon` within a lead
    time, and a PAT expiring today is within any."""
    if expires <= now:
        return {"expired"}
    today = now.astimezone(UTC).date()
    days_left = (expires.astimezone(UTC).date() - today).days
    if (today - created.astimezone(UTC).date()).days < days_left:
        return {None}
    return {"expires-soon"} if days_left == 0 else {None, "expires-soon"}


# Bodies that are no JSON, and the 400 `{"message": ...}` express.json answers: V8's JSON.parse
# messages, learnt from real servers on Node.js 20 (every release here runs on the machine's
# Node; a deployment on another Node major may word them otherwise).
V8_SYNTAX_ERRORS: tuple[tuple[str, str], ...] = (
    ('{"description":"x",}', "Expected double-quoted property name in JSON at position 19"),
    ('{"description":"x"', "Expected ',' or '}' after property value in JSON at position 18"),
    ("[1,2", "Expected ',' or ']' after array element in JSON at position 4"),
    ('{"a":1e}', "Exponent part is missing a number in JSON at position 7"),
    ('"\\u12"', "Bad Unicode escape in JSON at position 5"),
    ('{"a":tru}', 'Unexpected token \'}\', "{"a":tru}" is not valid JSON'),
    ('{"a":nul}', 'Unexpected token \'}\', "{"a":nul}" is not valid JSON'),
    ('{"a":-}', "No number after minus sign in JSON at position 6"),
    ('{"a":01}', "Unexpected number in JSON at position 6"),
    ('{"a":1.}', "Unterminated fractional number in JSON at position 7"),
    ('{"a":"\\x"}', "Bad escaped character in JSON at position 7"),
    ('{"a":"b', "Unterminated string in JSON at position 7"),
    ("{a:1}", "Expected property name or '}' in JSON at position 1"),
    ('{"a" 1}', "Expected ':' after property name in JSON at position 5"),
    ('{"a":1}}', "Unexpected non-whitespace character after JSON at position 7"),
    ('{"a":"\t"}', "Bad control character in string literal in JSON at position 6"),
    ('{"a":[}', 'Unexpected token \'}\', "{"a":[}" is not valid JSON'),
    ('{"a":.5}', 'Unexpected token \'.\', "{"a":.5}" is not valid JSON'),
    ('{"a":+1}', 'Unexpected token \'+\', "{"a":+1}" is not valid JSON'),
    ('{"a":falsy}', 'Unexpected token \'y\', "{"a":falsy}" is not valid JSON'),
    # Where V8's scanner names the token, and how: a number (`-`, a digit), a string, the
    # end; a whole source it knows by name; escapes it reads as Latin-1 (up to U+00FF).
    ("NaN", '"NaN" is not valid JSON'),
    ('[t"]', "Unexpected string in JSON at position 2"),
    ("[t-]", "Unexpected number in JSON at position 2"),
    ("[00]", "Unexpected number in JSON at position 2"),
    ("[09]", "Unexpected number in JSON at position 2"),
    ('"abc\\', "Unexpected end of JSON input"),
    ('"\\X"', "Bad escaped character in JSON at position 2"),
    ('"\\\xff"', "Bad escaped character in JSON at position 2"),
    ('"\\\u1234"', 'Unexpected token \'\u1234\', ""\\\u1234"" is not valid JSON'),
    ('"ab\\u00e9\\/\\b\\f\\n\\r\\t\\"\\\\\\q"', "Bad escaped character in JSON at position 26"),
    # Numbers that only V8's own scan reads to the end before it fails.
    ("1e+", "Exponent part is missing a number in JSON at position 3"),
    ("1E-x", "Exponent part is missing a number in JSON at position 3"),
    ("[0E]", "Exponent part is missing a number in JSON at position 3"),
    ("[9.]", "Unterminated fractional number in JSON at position 3"),
    ("[1.5.]", "Expected ',' or ']' after array element in JSON at position 4"),
    ("[1e5.]", "Expected ',' or ']' after array element in JSON at position 4"),
    # Positions count UTF-16 code units (an astral character is two).
    ('"\U0001f600\\uqqqq"', "Bad Unicode escape in JSON at position 5"),
    (
        "\U0001f600" * 15 + " x " + "\U0001f600" * 11,
        "Unexpected token '\ud83d', \"" + "\U0001f600" * 5 + '"... is not valid JSON',
    ),
    # The quoted context: the whole source below 21 units, else 10 units either side.
    (
        "[1,2,3,4,5,6,7,8,x9]",
        "Unexpected token 'x', \"[1,2,3,4,5,6,7,8,x9]\" is not valid JSON",
    ),
    ("[1,2,3,4,5,6,7,8,x90]", "Unexpected token 'x', ...\"4,5,6,7,8,x90]\" is not valid JSON"),
    (
        "[11,2,3,4,x,6,7,8,9,10,11,12]",
        "Unexpected token 'x', ...\"[11,2,3,4,x,6,7,8,9,\"... is not valid JSON",
    ),
    (
        "[1,2,3,4,5,6,7,8,9,10,11,x,4,5,6,7]",
        "Unexpected token 'x', ...\"8,9,10,11,x,4,5,6,7]\" is not valid JSON",
    ),
    # Brackets: where a mismatched or missing one is named, also past 1,000 levels.
    ("[[[[1]]],2}", "Expected ',' or ']' after array element in JSON at position 10"),
    ("[[1],[2],,]", "Unexpected token ',', \"[[1],[2],,]\" is not valid JSON"),
    ("[ ]]", "Unexpected non-whitespace character after JSON at position 3"),
    ('{"a":1]', "Expected ',' or '}' after property value in JSON at position 6"),
    ('[[{"a":[1]]}]]', "Expected ',' or '}' after property value in JSON at position 10"),
    ('{"a":{"b":{}},}', "Expected double-quoted property name in JSON at position 14"),
    ('{"a" :1,"b"}', 'Unexpected token \'}\', "{"a" :1,"b"}" is not valid JSON'),
    (
        '{"d":"x","a":' + "[" * 1200 + "1" + "]" * 1200 + ',"b":1,}',
        "Expected double-quoted property name in JSON at position 2421",
    ),
    (
        "[" + "[" * 1200 + "]" * 1200 + ',1,2,"x",x]',
        'Unexpected token \'x\', ..."],1,2,"x",x]" is not valid JSON',
    ),
)
