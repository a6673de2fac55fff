"""Unleash's password policy: owasp-password-strength-test 1.3 with its defaults, as Unleash's
user service runs it before it stores a password. Knows nothing about HTTP."""

from __future__ import annotations

import re

MIN_LENGTH, MAX_LENGTH = 10, 128
# From this length on a password is a passphrase: the optional tests are skipped.
MIN_PHRASE_LENGTH = 20
# JavaScript's `.` matches any UTF-16 code unit but a line terminator.
_REPEATED = re.compile("([^\n\r\u2028\u2029])\\1{2,}")
_OPTIONAL = (
    (re.compile("[a-z]"), "The password must contain at least one lowercase letter."),
    (re.compile("[A-Z]"), "The password must contain at least one uppercase letter."),
    (re.compile("[0-9]"), "The password must contain at least one number."),
    (re.compile("[^A-Za-z0-9]"), "The password must contain at least one special character."),
)


def _code_units(text: str) -> str:
    """`text` with every astral character split into its two surrogates, so that lengths and
    the repetition test count UTF-16 code units as JavaScript's do."""
    return "".join(
        c if ord(c) < 0x10000 else chr(0xD7C0 + (ord(c) >> 10)) + chr(0xDC00 + (ord(c) & 0x3FF))
        for c in text
    )


def problems(password: str) -> list[str]:
    """What the OWASP test finds wrong with a non-empty password, in its order (the required
    tests first); an empty list when it is strong."""
    units = _code_units(password)
    found = []
    if len(units) < MIN_LENGTH:
        found.append(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(units) > MAX_LENGTH:
        found.append(f"The password must be fewer than {MAX_LENGTH} characters.")
    if _REPEATED.search(units):
        found.append("The password may not contain sequences of three or more repeated characters.")
    if len(units) < MIN_PHRASE_LENGTH:
        found += [text for pattern, text in _OPTIONAL if not pattern.search(units)]
    return found
