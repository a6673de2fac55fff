"""What a resource unit is: one family of Unleash resources (PATs; users and sessions; server
information), with its backend, its fixture section, its snapshot section and its routes.

The app, the state, the fixtures and the control plane know units only through this shape, so a
new family of endpoints is one new unit in the table (`units/__init__.py`), or one passed to
`create_app(units=...)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from mock_server import callers
from mock_server.callers import Caller
from mock_server.errors import ContentTypeError, UnleashError
from mock_server.node.ajv import accepts_json, checked_body
from mock_server.node.body_parser import built_body

if TYPE_CHECKING:
    from mock_server.fixtures import Fixtures
    from mock_server.state import MockState


class FixtureError(Exception):
    """Unusable fixtures; the message names the source and every problem."""


class FixtureConflict(FixtureError):
    """Fixtures that clash with the state they would join (a user id taken, a secret in use)."""


@dataclass(frozen=True)
class Call:
    """One request, as every handler receives it: who calls (None outside /api and the
    authenticated routes, where Unleash authenticates no one), the body as express.json and the
    validator left it, and the path parameters as the validator coerced them."""

    state: MockState
    caller: Caller | None
    body: Any
    params: Mapping[str, Any]
    scope: Scope

    @classmethod
    def of(cls, state: MockState, scope: Scope) -> Call:
        return cls(state, callers.of(scope), built_body(scope), scope.get("path_params", {}), scope)

    @property
    def headers(self) -> Headers:
        return Headers(scope=self.scope)

    def json_body(self, schema: dict[str, Any]) -> Any:
        """The body of a route of Unleash's Controller: its requireContentType (a 415
        ContentTypeError unless JSON), then Ajv (the coerced body, or a SchemaError)."""
        profile, content_type = self.state.profile, self.headers.get("content-type")
        if not accepts_json(content_type, strict=profile.strict_content_type_check):
            raise ContentTypeError(content_type)
        return checked_body(schema, self.body, ajv=profile.ajv)

    @property
    def base_url(self) -> str:
        """The server's own URL as the request reached it (scheme, host, root path)."""
        return str(Request(self.scope).base_url).rstrip("/")


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    """A route outside the contract (bootstrap and account endpoints real clients use)."""

    path: str
    methods: tuple[str, ...]
    handler: Handler
    # Behind Unleash's authentication, as everything under /api is (every method, and the
    # paths below it): the handler's Call has a caller, and a request without one is a 401.
    authenticated: bool = False


@dataclass(frozen=True)
class Unit:
    name: str
    # The contract's operations this unit answers: operationId -> handler.
    operations: Mapping[str, Handler] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    # Its backends, built afresh by every reset: each lands in `state.backends` by its name.
    build: Callable[[MockState], Mapping[str, Any]] | None = None
    # A JSON merge patch (RFC 7396) into the fixture file's JSON Schema: the section it reads.
    fixture_schema: Mapping[str, Any] = field(default_factory=dict)
    # Raises FixtureError (FixtureConflict for a clash with the state) for fixtures its seed
    # could not take into this state: run for every unit before any seeds, so that a seed
    # changes nothing unless all of them can complete.
    check: Callable[[MockState, Fixtures], None] | None = None
    # Fills its backend from parsed fixtures (after the units before it in the table); given
    # fixtures every unit's check passed, only the state file's writes may still fail.
    seed: Callable[[MockState, Fixtures], None] | None = None
    # Adds its part to GET /_unleash-pat/state (the dict built so far, by the units before it);
    # `secrets` asks for what a test needs to authenticate.
    snapshot: Callable[[MockState, dict[str, Any], bool], None] | None = None
    # Another answer for an error raised before a handler ran (a validator's), or None: how
    # bug-compatible mode answers what Unleash's own validator would have let through.
    rewrite_error: Callable[[Call, UnleashError], UnleashError | None] | None = None
