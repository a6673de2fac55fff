"""Body parsing: content types, charsets, encodings, size limits, malformed and odd JSON, and
what of a create body is read."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from typing import Any

from bench.defects.base import defect
from bench.defects.corpus.times import ReadsExpiry, parse_instant
from bench.defects.probe import FAR, Probe, iso
from bench.defects.proxy import (
    TOKENS,
    Exchange,
    Proxy,
    Reply,
    error_body,
    is_rejected,
    rewrite_pats,
    schema_400,
)

LIMIT = 100 * 1024
VALID = json.dumps({"description": "body", "expiresAt": FAR}).encode()
JSON_HEADERS = {"Content-Type": "application/json"}


def media_type(ex: Exchange) -> str:
    return (ex.header("content-type") or "").split(";")[0].strip(" \t").lower()


def parsed_by_express(ex: Exchange) -> bool:
    """Whether express.json or express.urlencoded reads this body (roughly: by media type)."""
    return media_type(ex) in ("application/json", "application/x-www-form-urlencoded")


def bare(message: str, status: int) -> Reply:
    """The body parser's own error: `{message}`."""
    return Reply.json_reply({"message": message}, status)


def sized_body(size: int) -> bytes:
    """A valid create body of exactly `size` bytes."""
    empty = json.dumps({"description": "", "expiresAt": FAR}, separators=(",", ":"))
    return empty.replace('""', '"' + "p" * (size - len(empty)) + '"', 1).encode()


@defect(
    "body-latin1-accepted",
    "body",
    "a JSON body declared `charset=latin1` is decoded as Latin-1 and accepted (8.2.0: 415)",
    "body-parser was swapped for a parser that decodes any charset iconv knows",
)
class Latin1Accepted(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        charset = re.search(r"charset=\"?([\w-]+)", ex.header("content-type") or "", re.I)
        latin = ("latin1", "iso-8859-1", "windows-1252", "ascii", "us-ascii")
        if media_type(ex) == "application/json" and charset and charset[1].lower() in latin:
            body = await ex.body()
            if ex.header("content-encoding") in (None, "identity"):
                ex.set_body(body.decode("latin-1").encode())
                ex.set_header("content-type", "application/json; charset=utf-8")
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        headers = {"Content-Type": "application/json; charset=latin1"}
        return p.post(content=VALID, headers=headers).status_code


@defect(
    "body-gzip-refused",
    "body",
    "a gzip- or deflate-encoded body is refused 415 (8.2.0 inflates it)",
    "body-parser's `inflate` option was set to false",
)
class GzipRefused(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        coding = (ex.header("content-encoding") or "").strip().lower()
        if parsed_by_express(ex) and coding in ("gzip", "deflate"):
            await ex.body()
            return bare(f'unsupported content encoding "{coding}"', 415)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        headers = JSON_HEADERS | {"Content-Encoding": "gzip"}
        return p.post(content=gzip.compress(VALID), headers=headers).status_code


class _Limit(Proxy):
    def too_large(self, size: int) -> bool:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        plain = ex.header("content-encoding") in (None, "identity")
        if parsed_by_express(ex) and plain and self.too_large(len(await ex.body())):
            return bare("request entity too large", 413)
        return await ex.forward()


@defect(
    "body-limit-exclusive",
    "body",
    "a body of exactly 100 kB (102,400 bytes) is refused 413; the limit became exclusive",
    "a hand-written size guard checks `length >= limit` before body-parser's own",
)
class LimitExclusive(_Limit):
    def too_large(self, size: int) -> bool:
        return size == LIMIT

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=sized_body(LIMIT), headers=JSON_HEADERS).status_code


@defect(
    "body-limit-decimal-kb",
    "body",
    "bodies over 100,000 bytes are refused 413 (8.2.0: over 102,400)",
    'the limit is configured as the number 100000 instead of body-parser\'s string "100kb"',
)
class LimitDecimalKb(_Limit):
    def too_large(self, size: int) -> bool:
        return size > 100_000

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=sized_body(101_000), headers=JSON_HEADERS).status_code


@defect(
    "body-malformed-json-500",
    "body",
    "malformed JSON is a 500 UnknownError instead of the body parser's 400",
    "the error handler no longer recognises body-parser's SyntaxError (its `status` field) and "
    "treats it as unexpected",
)
class MalformedJson500(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = reply.json() if reply.status == 400 and reply.is_json() else None
        if isinstance(body, dict) and set(body) == {"message"}:
            reply.replace(500, error_body("UnknownError", body["message"], with_id=False))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=b"{bad", headers=JSON_HEADERS).status_code


@defect(
    "body-parsed-after-auth",
    "body",
    "without credentials, a malformed body is answered 401 (8.2.0 parses it first: 400)",
    "express.json() was moved from the app to the API router, behind the auth middleware",
)
class ParsedAfterAuth(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if ex.under("/api") and not ex.header("authorization") and not ex.session_cookie:
            ex.set_header("content-type", None)
            ex.set_header("content-encoding", None)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=b"{bad", headers=JSON_HEADERS, auth=None).status_code


@defect(
    "body-plus-json-accepted",
    "body",
    "`application/*+json` bodies (merge-patch, vnd.api) are accepted (8.2.0: 415)",
    "the content-type check became type-is's `+json` wildcard",
)
class PlusJsonAccepted(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        kind = media_type(ex)
        if re.fullmatch(r"application/[\w.-]+\+json", kind):
            value = ex.header("content-type") or ""
            ex.set_header(
                "content-type",
                "application/json" + value[value.find(";") :]
                if ";" in value
                else "application/json",
            )
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        headers = {"Content-Type": "application/merge-patch+json"}
        return p.post(content=VALID, headers=headers).status_code


@defect(
    "body-untyped-read-as-json",
    "body",
    "a body sent without Content-Type is read as JSON (8.2.0: 415)",
    "`express.json({type: () => true})` was configured to help clients that forget the header",
)
class UntypedReadAsJson(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        with_body = ex.method in ("POST", "PUT", "PATCH", "DELETE")
        if ex.header("content-type") is None and with_body and await ex.body():
            ex.set_header("content-type", "application/json")
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=VALID).status_code


def _v8_unexpected(text: str, char: str) -> str:
    """V8's JSON.parse message for an unexpected first character."""
    shown = f'"{text}"' if len(text) <= 10 else f'"{text[:10]}"...'
    return f"Unexpected token '{char}', {shown} is not valid JSON"


@defect(
    "body-bom-refused",
    "body",
    "a JSON body starting with a UTF-8 byte-order mark is refused as malformed",
    "the body is decoded with TextDecoder's `ignoreBOM: true` by a new raw-body reader",
)
class BomRefused(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if media_type(ex) == "application/json" and ex.header("content-encoding") in (
            None,
            "identity",
        ):
            body = await ex.body()
            if body.startswith(b"\xef\xbb\xbf"):
                text = body.decode("utf-8", "replace")
                return bare(_v8_unexpected(text, "\ufeff"), 400)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=b"\xef\xbb\xbf" + VALID, headers=JSON_HEADERS).status_code


class _FirstWins(dict):
    duplicated = False


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    kept = _FirstWins()
    for key, value in pairs:
        if key in kept:
            _FirstWins.duplicated = True
        else:
            kept[key] = value
    return kept


@defect(
    "body-duplicate-keys-first-wins",
    "body",
    "in a body with a key twice, the first value wins (JSON.parse: the last)",
    "the body is parsed by a streaming parser that ignores repeated keys",
)
class DuplicateKeysFirstWins(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if media_type(ex) == "application/json" and ex.header("content-encoding") in (
            None,
            "identity",
        ):
            raw = await ex.body()
            _FirstWins.duplicated = False
            try:
                value = json.loads(
                    raw.decode("utf-8").removeprefix("\ufeff"), object_pairs_hook=_first_wins
                )
            except (ValueError, RecursionError):
                value = None
            if value is not None and _FirstWins.duplicated:
                await ex.set_json_body(value)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        body = b'{"description":"first","description":"last","expiresAt":"' + FAR.encode() + b'"}'
        return p.post(content=body, headers=JSON_HEADERS).json()["description"]


@defect(
    "body-empty-is-malformed",
    "body",
    "an empty body with a JSON Content-Type is a malformed-JSON 400 (8.2.0 reads it as `{}`)",
    "the parser calls JSON.parse on the raw text even when it is empty",
)
class EmptyIsMalformed(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if media_type(ex) == "application/json" and not await ex.body():
            return bare("Unexpected end of JSON input", 400)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(content=b"", headers=JSON_HEADERS).json()["message"]


@defect(
    "body-extra-fields-refused",
    "body",
    "a create body with properties beyond description and expiresAt is refused 400",
    "`additionalProperties: false` was added to createPatSchema",
)
class ExtraFieldsRefused(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", TOKENS) else None
        if isinstance(body, dict) and set(body) - {"description", "expiresAt"}:
            reply = await ex.forward_rejected()
            if is_rejected(reply):
                reply.replace(400, schema_400("/body", "must NOT have additional properties", body))
            return reply
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(json={"description": "x", "expiresAt": FAR, "foo": 1}).status_code


@defect(
    "body-createdat-honoured",
    "body",
    "a createdAt sent in the create body is stored as the PAT's createdAt",
    "the create DTO is spread into the insert (mass assignment) after a 'simplification'",
)
class CreatedAtHonoured(Proxy):
    def install(self) -> None:
        self.created_at: dict[int, str] = {}

    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", TOKENS) else None
        reply = await ex.forward()
        sent = parse_instant(body.get("createdAt")) if isinstance(body, dict) else None
        if sent and reply.status == 201:
            self.created_at[reply.json()["id"]] = iso(sent)
        if ex.under(TOKENS) and self.created_at:
            rewrite_pats(
                reply,
                lambda pat: pat | {"createdAt": self.created_at.get(pat["id"], pat["createdAt"])},
            )
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        sent = {"description": "old", "expiresAt": FAR, "createdAt": "2000-01-01T00:00:00.000Z"}
        return p.post(json=sent).json()["createdAt"]


@defect(
    "body-expiry-date-only-accepted",
    "body",
    "an expiry given as a date only (`2031-05-06`) is accepted as midnight UTC (8.2.0: 400)",
    "the expiresAt schema's format became `date` OR `date-time` for the UI's date picker",
)
class ExpiryDateOnly(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        if isinstance(expiry, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", expiry):
            return expiry + "T00:00:00.000Z"
        return expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("day", "2031-05-06").status_code


@defect(
    "body-expiry-epoch-accepted",
    "body",
    "an expiry given as epoch milliseconds (a number) is accepted (8.2.0: 400)",
    "expiresAt is passed through `new Date(value)` before validation",
)
class ExpiryEpoch(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        if isinstance(expiry, int) and not isinstance(expiry, bool):
            try:
                return iso(datetime.fromtimestamp(expiry / 1000, UTC))
            except (OverflowError, OSError, ValueError):
                return expiry
        return expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("epoch", 1893456000000).status_code
