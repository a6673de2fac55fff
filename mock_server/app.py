"""The app factory: openapi.yaml, routed by connexion, in front of an in-memory store."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response

from mock_server import fixtures as fixture_files
from mock_server.auth import Authenticator, AuthMiddleware, RateLimiter, Sessions
from mock_server.body_parser import BodyParserMiddleware
from mock_server.compression import CompressionMiddleware
from mock_server.errors import ContentTypeError, UnleashError
from mock_server.handlers import Options, PatHandlers, spec_document
from mock_server.operations import DirectApi
from mock_server.responses import json_response
from mock_server.routing import AnySegmentRoutingMiddleware, ExpressPathMiddleware, RouteTable
from mock_server.store import PatStore
from mock_server.validation import (
    CachedRequestValidationMiddleware,
    UnleashBodyValidator,
    UnleashParameterValidator,
)

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
if not SPEC_PATH.exists():  # running from a source checkout rather than an installed wheel
    SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


@functools.cache
def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def create_app(
    fixtures: str | Path | fixture_files.Fixtures | None = None,
    *,
    options: Options | None = None,
    store: PatStore | None = None,
) -> AsyncApp:
    """The mock as an ASGI app. `fixtures` is a YAML path or parsed Fixtures (default:
    fixtures/default.yaml); pass `store` to seed and inspect the store yourself."""
    options = options or Options()
    if not isinstance(fixtures, fixture_files.Fixtures):
        fixtures = fixture_files.load(fixtures)
    store = store or PatStore(seen_at_flush_seconds=options.seen_at_flush_seconds)
    fixtures.seed(store)
    sessions = Sessions()
    handlers = PatHandlers(store, options, sessions)
    authenticator = Authenticator(store, sessions, RateLimiter(options.rate_limit_per_minute))

    # Connexion's stack, rearranged to Express's order in Unleash: compression wraps every
    # response; the JSON body parser and authentication run before routing, so they apply to
    # unknown paths too.
    app = AsyncApp(
        __name__,
        middlewares=[
            # Starlette's, with a handler: connexion's own calls an async handler synchronously.
            functools.partial(ServerErrorMiddleware, handler=_server_error),
            CompressionMiddleware,
            ExpressPathMiddleware,
            BodyParserMiddleware,
            functools.partial(AuthMiddleware, authenticator=authenticator),
            ExceptionMiddleware,
            AnySegmentRoutingMiddleware,
            CachedRequestValidationMiddleware,
            ContextMiddleware,
        ],
    )
    # Connexion 3.3 (pinned) names the class that wraps handler calls here.
    app._middleware_app.api_cls = DirectApi
    spec = load_spec()
    app.add_api(
        spec,
        resolver=Resolver(function_resolver=lambda operation_id: getattr(handlers, operation_id)),
        validator_map={
            "parameter": UnleashParameterValidator,
            "body": MediaTypeDict({"*/*json": UnleashBodyValidator}),
        },
    )
    app.add_url_rule(
        "/docs/openapi.json", "openapi", lambda request: spec_document(spec), methods=["GET"]
    )
    # The readiness probe deployments (and scripts/real-unleash.sh) wait on.
    app.add_url_rule(
        "/health", "health", lambda request: json_response({"health": "GOOD"}), methods=["GET"]
    )
    app.add_url_rule("/auth/simple/login", "login", handlers.login, methods=["POST"])
    app.add_url_rule("/api/admin/user", "current_user", handlers.current_user, methods=["GET"])
    routes = RouteTable(spec)

    def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        # Connexion's own problems are about the body's media type (415) or routing.
        if exc.status == 415:
            provided = request.headers.get("content-type")
            return _connexion_response(ContentTypeError(provided).response())
        return _connexion_response(routes.unrouted(request.scope, request.method))

    def http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        # A path no route takes (404), or a method it does not take (405).
        return _connexion_response(routes.unrouted(request.scope, request.method))

    app.add_error_handler(UnleashError, _unleash_error)
    app.add_error_handler(Exception, lambda request, exc: _connexion_response(_unknown_error()))
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, http_exception)

    def reset() -> None:
        """Back to the fixtures: PATs, ids, sessions and rate-limit counters."""
        store.clear()
        fixtures.seed(store)
        sessions.clear()
        authenticator.pat_limiter.clear()
        handlers.login_limiter.clear()

    # For tests and embedding: inspect the store, or reset between tests.
    app.store = store  # type: ignore[attr-defined]
    app.fixtures = fixtures  # type: ignore[attr-defined]
    app.reset = reset  # type: ignore[attr-defined]
    return app


def _connexion_response(response: Response) -> ConnexionResponse:
    # Connexion's error-handler wrapper rebuilds a Starlette response from these fields.
    return ConnexionResponse(
        status_code=response.status_code, body=response.body, headers=dict(response.headers)
    )


def _unknown_error() -> Response:
    # A bug in the mock: answered as Unleash answers its own unexpected errors, never leaking.
    return UnleashError("An unexpected error occurred in the unleash-pat mock.").response()


def _server_error(request: Request, exc: Exception) -> Response:
    return _unknown_error()


def _unleash_error(request: ConnexionRequest, exc: UnleashError) -> ConnexionResponse:
    return _connexion_response(exc.response())
