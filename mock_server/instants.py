"""Instants, as Unleash's stack reads and writes them: the one place that turns a date-time
into text or text into a date-time.

- Reading: Ajv's "date-time" format (ajv-formats 2.1.1) decides what a request may send, and
  PostgreSQL decides the instant it stores (`parse_date_time`).
- Writing: JavaScript's `Date#toISOString` (`timestamp`), which every release here uses for
  every instant it sends. The mock writes every instant this way: API answers, the control
  plane's state and clock, the journal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mock_server.node.javascript import JS_WHITESPACE

if TYPE_CHECKING:
    from mock_server.clock import Clock

# Unleash's Ajv checks "date-time" with ajv-formats 2.1.1, which is looser than RFC 3339: the
# time zone is optional (a bug there), `23:59:60` passes at any offset, offsets are not
# range-checked. Its regexes are JavaScript's: `\d` is ASCII only (full-width or Arabic-Indic
# digits are refused), `\s` is ECMAScript white space. PostgreSQL then reads the string (no
# zone: UTC, the server's zone).
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|([+-])([0-9]{2})(?::?([0-9]{2}))?)?", re.I
)
_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_SEPARATOR = re.compile(f"[tT{JS_WHITESPACE}]")
_JS_SPACE_TO_BLANK = str.maketrans(dict.fromkeys(JS_WHITESPACE, " "))
# The separators PostgreSQL's date/time reader takes (C `isspace`, and `T`): with any other
# (U+00A0, U+2003, ...) real 8.2.0 answers 500 with the SQL; the mock answers 400.
_PG_SEPARATORS = frozenset("tT \t\n\v\f\r")
_PG_MAX_OFFSET = timedelta(hours=15, minutes=59)


def is_date_time(value: str) -> bool:
    """ajv-formats 2.1.1's "date-time"."""
    parts = _SEPARATOR.split(value)
    if len(parts) != 2:
        return False
    m, t = _DATE.fullmatch(parts[0]), _TIME.fullmatch(parts[1])
    if not m or not t:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= month <= 12 and 1 <= day <= (29 if month == 2 and leap else _DAYS[month])):
        return False
    hr, mi, sec = int(t[1]), int(t[2]), int(t[3])
    return (hr <= 23 and mi <= 59 and sec <= 59) or (hr, mi, sec) == (23, 59, 60)


# Ajv 6's own "date-time" ("fast" mode, Unleash 5.6): a regex only. An offset is required, the
# day of the month is not checked against the month, and hours run to 29.
_AJV6_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-1][0-9]-[0-3][0-9][tT\s](?:[0-2][0-9]:[0-5][0-9]:[0-5][0-9]|23:59:60)"
    r"(?:\.[0-9]+)?(?:[zZ]|[+-][0-9]{2}(?::?[0-9]{2})?)"
)


def is_date_time_ajv6(value: str) -> bool:
    r"""Ajv 6's fast "date-time" (JavaScript's `\s`: its white space)."""
    return _AJV6_DATE_TIME.fullmatch(value.translate(_JS_SPACE_TO_BLANK)) is not None


def parse_date_time(value: str) -> datetime | None:
    """The instant PostgreSQL stores for a valid date-time (microseconds, a leap second rolling
    over, 24:00:00 as the next midnight), or None where real Unleash fails with a 500
    (PostgreSQL cannot read it: a separator other than its own, offset minutes past 59 or an
    offset beyond ±15:59, a leap second with a fraction, a day or hour that does not exist) or
    answers what a Python datetime cannot hold (a year past 9999 once in UTC: real 8.2.0
    answers 201 with `+010000-…`; the mock refuses it, the safe direction)."""
    date, time = _SEPARATOR.split(value)
    t = _TIME.fullmatch(time)
    assert t is not None
    if value[len(date)] not in _PG_SEPARATORS:
        return None
    year = int(date[:4])
    micro = round(float("0" + (t[4] or ".0")) * 1_000_000)
    if int(t[3]) == 60 and micro:
        return None  # PostgreSQL: "date/time field value out of range"
    offset = timedelta()
    if t[5] and t[5].lower() != "z":
        if int(t[8] or 0) > 59:
            return None  # PostgreSQL: "time zone displacement out of range"
        offset = timedelta(hours=int(t[7]), minutes=int(t[8] or 0))
        if offset > _PG_MAX_OFFSET:
            return None
        offset = -offset if t[6] == "-" else offset
    if year == 0:  # year 0 is long past: Unleash's past-expiry check rejects it
        return datetime.min.replace(tzinfo=UTC)
    hour, minute, second = int(t[1]), int(t[2]), int(t[3])
    if hour == 24 and (minute, second, micro) == (0, 0, 0):
        hour, midnight = 0, timedelta(days=1)  # PostgreSQL's 24:00:00
    else:
        midnight = timedelta()
    try:
        base = datetime.fromisoformat(f"{date}T{hour:02d}:{minute:02d}:00+00:00")
        return base + midnight + timedelta(seconds=second, microseconds=micro) - offset
    except (OverflowError, ValueError):  # ValueError: no such day, hour or minute
        return None


def timestamp(moment: datetime) -> str:
    """JavaScript's Date#toISOString: UTC, milliseconds (truncated), `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_timestamp(seconds: float) -> str:
    """`timestamp` of an instant given in seconds since the epoch."""
    return timestamp(datetime.fromtimestamp(seconds, UTC))


def clock_json(clock: Clock) -> dict[str, object]:
    """The clock as the control plane shows it."""
    return {"now": epoch_timestamp(clock.time()), "frozen": clock.frozen}
