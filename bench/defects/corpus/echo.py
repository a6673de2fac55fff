"""Echoes: what comes back of the description and expiry a client sent."""

from __future__ import annotations

import html
from typing import Any

from bench.defects.base import defect
from bench.defects.probe import Probe
from bench.defects.proxy import (
    TOKENS,
    Exchange,
    Proxy,
    Reply,
    is_rejected,
    schema_400,
)

# String.prototype.trim's white space and line terminators.
JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class _ReadsDescription(Proxy):
    """POST's description reaches the stock mock as the regression stores it."""

    def read(self, description: Any) -> Any:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        if ex.is_route("POST", TOKENS):
            body = await ex.json_body()
            if isinstance(body, dict) and "description" in body:
                read = self.read(body["description"])
                if read is not body["description"]:
                    await ex.set_json_body({**body, "description": read})
        return await ex.forward()


@defect(
    "echo-description-trimmed",
    "echo",
    "descriptions are stored trimmed of surrounding blanks",
    "a `.trim()` was added to the create DTO to tidy up form input",
)
class DescriptionTrimmed(_ReadsDescription):
    def read(self, description: Any) -> Any:
        if isinstance(description, str) and description.strip(JS_WHITESPACE) != description:
            return description.strip(JS_WHITESPACE)
        return description

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("  padded  ").json()["description"]


@defect(
    "echo-description-truncated-255",
    "echo",
    "descriptions longer than 255 characters are cut to 255",
    "a migration made `description` a `varchar(255)` and the insert truncates (a trigger)",
)
class DescriptionTruncated(_ReadsDescription):
    def read(self, description: Any) -> Any:
        if (
            isinstance(description, str)
            and len(description.encode("utf-16-le", "surrogatepass")) > 510
        ):
            return description.encode("utf-16-le", "surrogatepass")[:510].decode(
                "utf-16-le", "replace"
            )
        return description

    @staticmethod
    def demo(p: Probe) -> Any:
        return len(p.create("d" * 300).json()["description"])


@defect(
    "echo-description-html-escaped",
    "echo",
    "descriptions are stored HTML-escaped (`<b>` comes back `&lt;b&gt;`)",
    "an XSS sanitiser was put on every string of request bodies",
)
class DescriptionHtmlEscaped(_ReadsDescription):
    def read(self, description: Any) -> Any:
        if isinstance(description, str) and html.escape(description) != description:
            return html.escape(description)
        return description

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("<b>tom & jerry</b>").json()["description"]


@defect(
    "echo-description-mojibake",
    "echo",
    "non-ASCII descriptions come back double-encoded (`héllo` as `hÃ©llo`)",
    "the database connection's client_encoding became LATIN1 in a new connection string",
)
class DescriptionMojibake(_ReadsDescription):
    def read(self, description: Any) -> Any:
        if isinstance(description, str) and not description.isascii():
            return description.encode("utf-8", "replace").decode("latin-1")
        return description

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("héllo 🚀").json()["description"]


@defect(
    "echo-description-number-refused",
    "echo",
    "a number or boolean description is refused 400 (8.2.0 coerces it to a string)",
    "Ajv's `coerceTypes` was turned off for request bodies",
)
class DescriptionNumberRefused(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", TOKENS) else None
        description = body.get("description") if isinstance(body, dict) else None
        if isinstance(description, int | float):  # bool too
            reply = await ex.forward_rejected()
            if is_rejected(reply):
                reply.replace(400, schema_400("/body/description", "must be string", description))
            return reply
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create(123).status_code


@defect(
    "echo-null-description-stringified",
    "echo",
    "a null description is stored as the string `null` (8.2.0: refused as empty)",
    "the description is passed through `String(value)` before the empty check",
)
class NullDescriptionStringified(_ReadsDescription):
    def read(self, description: Any) -> Any:
        return "null" if description is None else description

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create(None).status_code


@defect(
    "echo-blank-description-refused",
    "echo",
    "a description of blanks only is refused as empty (8.2.0 stores it)",
    "the empty check became `!description.trim()`",
)
class BlankDescriptionRefused(_ReadsDescription):
    def read(self, description: Any) -> Any:
        if isinstance(description, str) and description and not description.strip(JS_WHITESPACE):
            return ""
        return description

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("   ").status_code


@defect(
    "echo-expiresat-as-sent",
    "echo",
    "the 201 echoes expiresAt as the client sent it, not normalised (UTC, milliseconds, Z)",
    "the create response is built from the request DTO instead of the inserted row",
)
class ExpiresAtAsSent(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", TOKENS) else None
        reply = await ex.forward()
        if (
            reply.status == 201
            and isinstance(body, dict)
            and isinstance(body.get("expiresAt"), str)
        ):
            reply.set_json(reply.json() | {"expiresAt": body["expiresAt"]})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("sent", "2031-01-01T12:00:00+02:00").json()["expiresAt"]
