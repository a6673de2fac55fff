"""The control API's operations, as `openapi.yaml` beside this file describes them.

Requests are small JSON (fixtures may be YAML): bodies are read up to MAX_JSON_BODY bytes
(fixtures: MAX_BODY, parsed on a thread) and checked against the document's own schemas
before anything changes.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
import yaml
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from mock_server import fixtures as fixture_files
from mock_server import versions
from mock_server.control.faults import TooManyRules
from mock_server.control.hosts import IN_PROCESS_HOSTS, host_name, is_loopback, same_origin
from mock_server.control.journal import Filter
from mock_server.instants import clock_json, is_date_time, parse_date_time
from mock_server.node.responses import json_response
from mock_server.state import MockState

_log = logging.getLogger("mock_server.control")
DOCUMENT = Path(__file__).resolve().parent / "openapi.yaml"
MAX_BODY = 16 * 1024 * 1024  # a fixtures file of ~100,000 users
MAX_JSON_BODY = 1024 * 1024  # any other body: parsed on the event loop
# 9998-12-31T23:59:59Z: a year of room below 9999, the last year a date is written in, for
# the instants dated after now (session expiry, rate-limit windows).
LAST_INSTANT = 253370764799
_JSON_TYPES = ("application/json",)
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


@functools.cache
def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: a float beyond the double's range
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a finite number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A Python call per object: json's C scanner holds the GIL while it runs, and a thread
    # parsing megabytes must let the event loop's thread in between.
    return dict(pairs)


def loads(text: str | bytes) -> Any:
    """JSON as the control API takes it: Python's json reads NaN, Infinity and 1e400 (as inf),
    which no JSON document holds and no rule can use."""
    return json.loads(
        text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_object
    )


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


class _Call:
    """One control request: its query and its body, read within a limit."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.headers = Headers(scope=scope)
        query = scope.get("query_string", b"").decode("latin-1")
        self.query = dict(parse_qsl(query, keep_blank_values=True))  # `?mode=` is no mode

    def media_type(self, accepted: tuple[str, ...]) -> str:
        """The body's media type, one of `accepted` in UTF-8, or a 415: a web page can send a
        text/plain or form body anywhere without asking first, never a JSON one."""
        sent = self.headers.get("content-type")
        media, *params = (sent or "").split(";")
        media = media.strip().lower()
        charsets = [
            value.strip().strip('"').lower()
            for key, _, value in (p.partition("=") for p in params)
            if key.strip().lower() == "charset"
        ]
        if media not in accepted or any(c not in ("utf-8", "utf8") for c in charsets):
            raise ControlError(
                415,
                f"the body must be sent with Content-Type: {' or '.join(accepted)} (in UTF-8), "
                f"not {sent[:100] if sent else 'none'}",
            )
        return media

    async def raw_body(self, limit: int = MAX_JSON_BODY) -> bytes:
        body = bytearray()
        while True:
            message = await self.receive()
            body += message.get("body", b"")
            if len(body) > limit:
                raise ControlError(413, f"the body is over {limit} bytes")
            if not message.get("more_body", False):
                return bytes(body)

    async def json(self, schema: str) -> Any:
        self.media_type(_JSON_TYPES)
        return _checked(_parsed_json(await self.raw_body()), schema)

    def integer(self, name: str, minimum: int | None = None) -> int | None:
        if name not in self.query:
            return None
        try:
            value = int(self.query[name])
        except ValueError:
            raise ControlError(400, f"{name} must be an integer") from None
        if minimum is not None and value < minimum:
            raise ControlError(400, f"{name} must be at least {minimum}")
        return value


def _parsed_json(raw: bytes) -> Any:
    try:
        data = loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond reason
        raise ControlError(400, f"the body is not JSON: {exc}") from None
    if fixture_files.nested_too_deep(data):
        raise ControlError(400, f"the body nests deeper than {fixture_files.MAX_DEPTH} levels")
    return data


def _checked(data: Any, schema: str) -> Any:
    spec = document()
    validator = jsonschema.Draft7Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise ControlError(400, fixture_files.schema_problem(error, "the body"))
    return data


class ControlApi:
    """An ASGI app for the paths under the control prefix (given without it)."""

    def __init__(
        self,
        state: MockState,
        *,
        prefix: str,
        token: str | None = None,
        allowed_hosts: Iterable[str] = IN_PROCESS_HOSTS,
    ) -> None:
        """`token`: the bearer token every call needs (None: none). Raises ValueError for a token
        no client could send: empty (an unset variable, say), or with spaces around it.
        `allowed_hosts`: the `Host` names answered besides loopback ones (hosts.py)."""
        if token is not None and (not token.strip() or token != token.strip()):
            raise ValueError(
                "the control token is empty or has spaces around it: give a token of your own"
            )
        self.state = state
        self.prefix = prefix
        self._token = token
        self._hosts = frozenset(filter(None, map(host_name, allowed_hosts)))
        self._document = _served_document(state)
        self._routes: dict[str, dict[str, Callable[[_Call], Awaitable[Response]]]] = {
            "/reset": {"POST": self.reset},
            "/state": {"GET": self.snapshot},
            "/fixtures": {"POST": self.load_fixtures},
            "/clock": {"GET": self.get_clock, "PUT": self.put_clock, "DELETE": self.reset_clock},
            "/clock/advance": {"POST": self.advance_clock},
            "/faults": {"GET": self.list_faults, "POST": self.add_fault, "DELETE": self.clear},
            "/journal": {"GET": self.get_journal, "DELETE": self.clear_journal},
            "/options": {"GET": self.get_options, "PUT": self.put_options},
            "/openapi.json": {"GET": self.openapi},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call = _Call(scope, receive)
        response = await self._answer(call)
        await response(scope, receive, send)

    async def _answer(self, call: _Call) -> Response:
        if (refusal := self._refusal(call.headers)) is not None:
            return _error(403, refusal)
        if self._token is not None and not self._authorized(call.headers):
            return _error(401, "the control API needs Authorization: Bearer <control token>")
        path = call.scope["path"][len(self.prefix) :].rstrip("/") or "/"
        methods = self._routes.get(path)
        if methods is None:
            return _error(404, f"no control route {path}; see {self.prefix}/openapi.json")
        handler = methods.get(call.scope["method"])
        if handler is None:
            response = _error(405, f"{path} takes {', '.join(methods)}")
            response.headers["Allow"] = ", ".join(methods)
            return response
        try:
            return await handler(call)
        except ControlError as exc:
            return _error(exc.status, exc.message)
        except Exception:
            # A bug, or the state file failing: logged whole, answered without a word of it
            # (an exception's text may hold any part of the state, secrets included).
            _log.exception(
                "the control API failed answering %s %s", call.scope["method"], call.scope["path"]
            )
            return _error(500, "the control API failed unexpectedly; the mock's log says why")

    def _refusal(self, headers: Headers) -> str | None:
        """Why a request a web page could have sent is refused (hosts.py), or None."""
        host = headers.get("host", "")
        name = host_name(host)
        if name is None or not (is_loopback(name) or name in self._hosts):
            return (
                f"the control API answers a loopback Host or one it was given (serve "
                f"--control-allowed-host NAME, create_app(control_allowed_hosts=...)), not Host "
                f"{host[:100]!r}: a web page that rebinds its own name to this address must not "
                "reach it"
            )
        site = headers.get("sec-fetch-site")
        if site in ("cross-site", "same-site"):
            return f"a request from another origin (Sec-Fetch-Site: {site}) is refused"
        origin = headers.get("origin")
        if origin is not None and not same_origin(origin, host):
            return f"a request from another origin (Origin: {origin[:100]}) is refused"
        return None

    def _authorized(self, headers: Headers) -> bool:
        assert self._token is not None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            return False  # no credential never matches, whatever the token
        # The header as its bytes (Starlette decodes it as Latin-1), the token as UTF-8.
        return hmac.compare_digest(given.encode("latin-1"), self._token.encode())

    # -- state ------------------------------------------------------------------------------
    async def reset(self, call: _Call) -> Response:
        self.state.reset()
        return Response(status_code=204)

    async def snapshot(self, call: _Call) -> Response:
        return await self._snapshot()

    async def _snapshot(self) -> Response:
        # Off the event loop: 100,000 users take a second to list and write.
        return await asyncio.to_thread(lambda: JSONResponse(self.state.snapshot(secrets=True)))

    async def load_fixtures(self, call: _Call) -> Response:
        mode = call.query.get("mode", "add")
        if mode not in ("add", "replace"):
            raise ControlError(400, "mode must be add or replace")
        media = call.media_type(_JSON_TYPES + _YAML_TYPES)
        raw = await call.raw_body(MAX_BODY)
        # Off the event loop: parsing and checking 16 MB takes seconds, during which the mock
        # goes on answering. Applying them is the loop's, as every other change of state.
        fixtures = await asyncio.to_thread(self._parsed_fixtures, raw, media)
        if isinstance(fixtures, str):
            raise ControlError(400, fixtures)
        try:
            if mode == "replace":
                self.state.replace_fixtures(fixtures)
            else:
                self.state.add_fixtures(fixtures)
        except fixture_files.FixtureConflict as exc:
            raise ControlError(409, str(exc)) from None
        except fixture_files.FixtureError as exc:
            raise ControlError(400, str(exc)) from None
        return await self._snapshot()

    def _parsed_fixtures(self, raw: bytes, media: str) -> fixture_files.Fixtures | str:
        """The fixtures, or what is wrong with them: returned, not raised, since an exception
        would carry the parsed document (in its frames) to the event loop, to be freed there."""
        source = "<request body>"
        try:
            text = raw.decode("utf-8")
            data = fixture_files.read_yaml(text, source) if media in _YAML_TYPES else loads(text)
            return fixture_files.parse(data, source, self.state.units)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return f"the body is not {media}: {exc}"
        except fixture_files.FixtureError as exc:
            return str(exc)

    # -- clock ------------------------------------------------------------------------------
    async def get_clock(self, call: _Call) -> Response:
        return JSONResponse(clock_json(self.state.clock))

    async def put_clock(self, call: _Call) -> Response:
        body = await call.json("ClockChange")
        clock = self.state.clock
        at = parse_date_time(body["now"]) if is_date_time(body.get("now", "")) else None
        if "now" in body and (at is None or not 0 <= at.timestamp() <= LAST_INSTANT):
            raise ControlError(400, f"now: {body['now']!r} is not a date-time in 1970-9998")
        if body.get("frozen") is True:
            clock.freeze(at)
        else:
            if body.get("frozen") is False:
                clock.resume()
            if at is not None:
                clock.set(at)
        return JSONResponse(clock_json(clock))

    async def reset_clock(self, call: _Call) -> Response:
        self.state.clock.reset()
        return JSONResponse(clock_json(self.state.clock))

    async def advance_clock(self, call: _Call) -> Response:
        body = await call.json("Advance")
        target = self.state.clock.time() + body["seconds"]
        if not 0 <= target <= LAST_INSTANT:
            raise ControlError(400, "the clock must stay between 1970 and 9998")
        self.state.clock.advance(body["seconds"])
        return JSONResponse(clock_json(self.state.clock))

    # -- faults -----------------------------------------------------------------------------
    async def list_faults(self, call: _Call) -> Response:
        return JSONResponse({"faults": [rule.json() for rule in self.state.faults.rules()]})

    async def add_fault(self, call: _Call) -> Response:
        body = await call.json("Fault")  # the document states the rules a rule follows
        if "id" in body or "fired" in body:
            raise ControlError(400, "id and fired are given by the mock")
        delay = body.get("delay_ms")
        if isinstance(delay, dict) and delay["min"] > delay["max"]:
            raise ControlError(400, "delay_ms: min is above max")
        try:
            json_response(body.get("body"))  # what the rule will send, written once here
        except (ValueError, TypeError, RecursionError) as exc:
            raise ControlError(400, f"body cannot be sent: {exc}") from None
        try:
            rule = self.state.faults.add(body)
        except TooManyRules as exc:
            raise ControlError(409, str(exc)) from None
        return JSONResponse(rule.json(), 201)

    async def clear(self, call: _Call) -> Response:
        self.state.faults.clear()
        return Response(status_code=204)

    # -- journal ----------------------------------------------------------------------------
    async def get_journal(self, call: _Call) -> Response:
        where = Filter(
            method=call.query.get("method"),
            path=call.query.get("path"),
            status=call.integer("status"),
            user=call.integer("user"),
        )
        entries = self.state.journal.entries(where)
        limit = call.integer("limit", minimum=0)
        shown = entries if limit is None else entries[len(entries) - limit :]
        return JSONResponse({"count": len(entries), "requests": [e.json() for e in shown]})

    async def clear_journal(self, call: _Call) -> Response:
        self.state.journal.clear()
        return Response(status_code=204)

    # -- options ----------------------------------------------------------------------------
    async def get_options(self, call: _Call) -> Response:
        return JSONResponse(self._options())

    async def put_options(self, call: _Call) -> Response:
        body = await call.json("Options")
        if "token_expiry_notification_days" in body:
            body["token_expiry_notification_days"] = tuple(body["token_expiry_notification_days"])
        try:
            self.state.configure(**body)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        return JSONResponse(self._options())

    def _options(self) -> dict[str, Any]:
        options = self.state.options
        return {
            "pats_kill_switch": options.pats_kill_switch,
            "token_expiry_notifications": options.token_expiry_notifications,
            "token_expiry_notification_days": list(options.token_expiry_notification_days),
            "rate_limit_per_minute": options.rate_limit_per_minute,
            "seen_at_flush_seconds": options.seen_at_flush_seconds,
            "unleash_version": self.state.profile.version,
            "bug_compatible": options.bug_compatible,
        }

    async def openapi(self, call: _Call) -> Response:
        return JSONResponse(self._document)


def _served_document(state: MockState) -> dict[str, Any]:
    """The document as this mock takes its calls: the fixtures' JSON Schema of its units, and
    the versions it answers to (its own, and its major if it is that major's newest)."""
    served = copy.deepcopy(document())
    schemas = served["components"]["schemas"]
    schemas["Fixtures"] = {
        "description": schemas["Fixtures"]["description"],
        **fixture_files.schema(state.units),
    }
    own = state.profile.version
    major = own.split(".")[0]
    names = [own, major] if versions.resolve(major).version == own else [own]
    schemas["Options"]["properties"]["unleash_version"]["enum"] = names
    return served
