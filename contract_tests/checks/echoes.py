"""Layer 3: what a server does with every create the contract accepts. The 201 and the later
list echo the description exactly and show expiresAt as the instant PostgreSQL stores
(`oracles.stored_ms`, written by `oracles.iso_timestamp`); the fields the server assigns are
what they must be; descriptions are unique exactly (as in Unleash 8.2.0: case, surrounding
white space and Unicode normalisation all make distinct PATs).

Generators are seeded (`--seed`, else fixed) and weighted: every profile sends the boundaries,
`thorough` adds a wide random sample on top."""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from contract_tests.api import PATS
from contract_tests.context import PAT, Context, body_of, expect, listed_pats
from contract_tests.oracles import iso_timestamp, stored_ms
from contract_tests.registry import Layer, Need, check

BODY_LIMIT = 100 * 1024  # express.json's default "100kb", in bytes of the sent body
# createdAt may lie this far from the response's `Date` (whole seconds, written after the row).
CREATED_AT_TOLERANCE_MS = 2_000
WIDE_SAMPLES = {"ci": 0, "thorough": 400}
# Characters a description may hold, from one-byte to four-byte UTF-8 (a surrogate pair in JS).
ALPHABETS = ("abcXYZ019 -_.", "éßøΩжЖ\u00a0\u200b", "中文字\u3000\uffff", "😀\U0001d518\U0010fffd")
FAR_DAY = "2999-01-01"


def _body(description: str, expires: str) -> bytes:
    """The create body as sent: compact UTF-8 JSON, so its size is known to the byte."""
    document = {"description": description, "expiresAt": expires}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _largest_description(ctx: Context, fill: str) -> str:
    """The longest description of `fill` characters whose body fits the limit exactly or
    leaves less than one character's worth."""
    room = BODY_LIMIT - len(_body(ctx.prefix, "")) - len(FAR_DAY + "T00:00:00Z")
    return ctx.prefix + fill * (room // len(fill.encode()))


def _descriptions(ctx: Context, rng: random.Random) -> Iterator[str]:
    for alphabet in ALPHABETS:
        yield ctx.description(alphabet)
        yield _largest_description(ctx, alphabet[-1])
    yield ctx.prefix  # nothing after the prefix
    alphabet, seen = "".join(ALPHABETS), set()
    for _ in range(WIDE_SAMPLES[ctx.profile.name]):
        size = rng.choice((1, 2, 10, 100, 1_000, 10_000))
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, size)))
        if text not in seen:  # a repeat would be a 409 NameExistsError, rightly
            seen.add(text)
            yield ctx.description(text)


def _offsets(rng: random.Random, wide: int) -> Iterator[str]:
    """Offsets in every form Unleash reads: none, Z, z, ±hh, ±hhmm, ±hh:mm from 00:00 to 15:59."""
    yield from ("", "Z", "z", "+02", "-11", "+0200", "-0930")
    for sign in "+-":
        for hours, minutes in ((0, 0), (0, 1), (0, 59), (1, 0), (14, 0), (15, 0), (15, 59)):
            yield f"{sign}{hours:02d}:{minutes:02d}"
    for _ in range(wide):
        yield f"{rng.choice('+-')}{rng.randint(0, 15):02d}:{rng.randint(0, 59):02d}"


def _fractions(rng: random.Random, wide: int) -> Iterator[str]:
    """No fraction, 1 to 9 digits, the rounding boundaries and a long tail."""
    yield from ("", ".0", ".5", ".123", ".9995", ".9999995", ".0000005", ".999999999999")
    for digits in range(1, 10):
        yield "." + "".join(rng.choice("0123456789") for _ in range(digits))
    for _ in range(wide):
        yield "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))


def _instants(rng: random.Random, wide: int) -> Iterator[str]:
    """Date and time parts: leap days, year ends (which an offset carries across), month ends."""
    yield from (
        "2032-02-29T00:00:00",
        "2032-02-29T23:59:59",
        "2400-02-29T12:00:00",
        "2031-12-31T23:59:59",
        "2032-01-01T00:00:00",
        "2099-12-31T20:00:00",
        "2033-06-30T23:59:60",
        "2033-04-30T23:30:00",
        "9998-12-31T23:59:59",
    )
    for _ in range(wide):
        year, month = rng.randint(2030, 9998), rng.randint(1, 12)
        last = 29 if month == 2 and year % 4 == 0 and (year % 100 or year % 400 == 0) else 28
        day = rng.choice((1, last if month == 2 else 30, rng.randint(1, 28)))
        yield f"{year:04d}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:59:59"


def _expiries(ctx: Context, rng: random.Random) -> Iterator[str]:
    """Each instant, offset and fraction at least once (paired round-robin), then wide mixes."""
    wide = WIDE_SAMPLES[ctx.profile.name]
    instants, offsets, fractions = (list(g(rng, wide)) for g in (_instants, _offsets, _fractions))
    for i in range(max(map(len, (instants, offsets, fractions)))):
        instant, offset = instants[i % len(instants)], offsets[i % len(offsets)]
        expires = instant + fractions[i % len(fractions)] + offset
        # A leap second takes no fraction in PostgreSQL (that is `unstorable_expiry_rejected`);
        # Ajv 6 wants an offset.
        candidates = (expires, instant + offset, instant + "Z")
        yield next(c for c in candidates if stored_ms(c, ctx.expect.ajv) is not None)


class Assigned:
    """What the server assigns to each PAT this check creates, checked as each 201 arrives."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.user_id = ctx.callers[0].user_id
        self.secrets: set[str] = set()
        self.last_id = max(ctx.callers[0].foreign_ids | ctx.ledger.ids(PAT), default=0)

    def check(self, response: httpx.Response, sent_ms: int) -> dict:
        pat = body_of(response)
        expect(isinstance(pat, dict), "created_pat_fields", "the 201 is no object", response)
        secret, pat_id = pat.get("secret"), pat.get("id")
        expect(
            self.ctx.expect.is_secret(secret),
            "secret_format",
            f"the secret is in no format Unleash {self.ctx.expect.version} issues",
            response,
        )
        self.ctx.redact.add(secret)
        expect(secret not in self.secrets, "secret_unique", "a secret was issued twice", response)
        self.secrets.add(secret)
        expect(
            isinstance(pat_id, int) and pat_id > self.last_id,
            "ids_increase",
            f"id {pat_id} after id {self.last_id} (ids must increase and never be reused)",
            response,
        )
        self.last_id = pat_id
        expect(pat.get("userId") == self.user_id, "user_id_is_caller", "userId", response)
        expect(pat.get("seenAt") is None, "seen_at_null", "a new PAT was seen", response)
        self._created_at(pat.get("createdAt"), response, sent_ms)
        return pat

    def _created_at(self, value: object, response: httpx.Response, sent_ms: int) -> None:
        """Within the tolerance of the response's `Date`; in-process (no server to write a
        `Date`) between our clock before the request and after it, with the same tolerance."""
        got = stored_ms(value) if isinstance(value, str) else None
        expect(got is not None, "created_at_matches_date", f"createdAt {value!r}", response)
        assert got is not None
        date = response.headers.get("date")
        if date is not None:
            low = high = int(parsedate_to_datetime(date).timestamp() * 1000)
            high += 999  # `Date` is truncated to the second
        else:
            expect(self.ctx.app is not None, "date_header_sent", "no Date header", response)
            low, high = sent_ms, _now_ms()
        tolerance = CREATED_AT_TOLERANCE_MS
        expect(
            low - tolerance <= got <= high + tolerance,
            "created_at_matches_date",
            f"createdAt {value} is over {tolerance} ms from {date or 'the request'}",
            response,
        )


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _create(ctx: Context, description: str, expires: str) -> tuple[httpx.Response, int]:
    sent = _now_ms()
    response = ctx.api.request(
        "POST",
        PATS,
        token=ctx.token,
        content=_body(description, expires),
        headers={"Content-Type": "application/json"},
    )
    ctx.track(ctx.token, response)
    return response, sent


def _echo_all(ctx: Context, cases: list[tuple[str, str]]) -> None:
    """Create each (description, expiresAt) in batches that fit the free slots; each 201 and
    then the list must echo the description and show the stored expiresAt."""
    assigned = Assigned(ctx)
    batch = max(1, ctx.expect.pat_limit - len(ctx.callers[0].foreign_ids) - 1)
    for start in range(0, len(cases), batch):
        made: dict[int, tuple[str, str]] = {}
        for description, expires in cases[start : start + batch]:
            response, sent = _create(ctx, description, expires)
            what = f"description of {len(description)} chars, expiresAt {expires!r}"
            expect(response.status_code == 201, "valid_create_accepted", what, response)
            pat = assigned.check(response, sent)
            stored = stored_ms(expires, ctx.expect.ajv)
            assert stored is not None  # the generators make storable date-times only
            made[pat["id"]] = (description, iso_timestamp(stored))
            _expect_echo(pat, made[pat["id"]], "create_echoes", response)
        response, pats = listed_pats(ctx.api, ctx.token, "list_echoes")
        listed = {p.get("id"): p for p in pats}
        for pat_id, want in made.items():
            expect(pat_id in listed, "create_listed", f"{pat_id} not listed", response)
            _expect_echo(listed[pat_id], want, "list_echoes", response)
        for pat_id in made:
            ctx.api.delete(ctx.token, pat_id)


def _expect_echo(pat: dict, want: tuple[str, str], name: str, response: httpx.Response) -> None:
    description, expires = want
    got = pat.get("description")
    shown = f"{got[:40]!r}… ({len(got)} chars)" if isinstance(got, str) else repr(got)
    message = f"description {description[:40]!r}… ({len(description)} chars) came back {shown}"
    expect(got == description, name, message, response)
    message = f"expiresAt shown as {pat.get('expiresAt')!r}, PostgreSQL stores {expires!r}"
    expect(pat.get("expiresAt") == expires, name, message, response)


def _rng(ctx: Context, salt: str) -> random.Random:
    return random.Random(f"{ctx.settings.seed or 0}-{salt}")


@check(Layer.PROPERTY, Need.WRITE)
def descriptions_echoed(ctx: Context) -> None:
    """Descriptions of every kind of character, up to the longest the 100 kB body limit lets
    through, come back exactly, in the 201 and in the list; server-assigned fields are right."""
    descriptions = list(_descriptions(ctx, _rng(ctx, "descriptions")))
    _echo_all(ctx, [(d, f"{FAR_DAY}T00:00:00Z") for d in descriptions])


@check(Layer.PROPERTY, Need.WRITE)
def expiries_echoed(ctx: Context) -> None:
    """Every offset form and value (±00:00 to ±15:59), any fractional precision, leap days
    and year ends: expiresAt is the instant PostgreSQL stores, as `Date#toISOString`."""
    expiries = list(_expiries(ctx, _rng(ctx, "expiries")))
    _echo_all(ctx, [(ctx.description(), expires) for expires in expiries])


@check(Layer.PROPERTY, Need.WRITE)
def descriptions_unique_exactly(ctx: Context) -> None:
    """A description differing only in case, surrounding white space or Unicode normalisation
    (NFC against NFD) is a different PAT: each is accepted next to the original (as in 8.2.0)."""
    original = ctx.description("café Ω")
    variants = (
        ctx.prefix + "CAFÉ Ω",
        ctx.prefix + "Café ω",
        " " + original,
        original + " ",
        original + "\t",
        unicodedata.normalize("NFD", original),
    )
    for variant in variants:  # in pairs: two free slots are enough
        _echo_all(ctx, [(d, f"{FAR_DAY}T00:00:00Z") for d in (original, variant)])
