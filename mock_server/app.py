"""The app factory: openapi.yaml, routed by connexion, in front of an in-memory store."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mock_server import fixtures as fixture_files
from mock_server.auth import Authenticator, AuthMiddleware, RateLimiter, Sessions
from mock_server.body_parser import BodyParserMiddleware
from mock_server.errors import ContentTypeError, PathNotFound, UnleashError
from mock_server.handlers import Options, PatHandlers, spec_document
from mock_server.store import PatStore
from mock_server.validation import UnleashBodyValidator, UnleashParameterValidator

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

    # Connexion's stack, rearranged to Express's order in Unleash: the JSON body parser and
    # authentication run before routing, so they apply to unknown paths too.
    app = AsyncApp(
        __name__,
        middlewares=[
            ServerErrorMiddleware,
            BodyParserMiddleware,
            functools.partial(AuthMiddleware, authenticator=authenticator),
            ExceptionMiddleware,
            RoutingMiddleware,
            RequestValidationMiddleware,
            ContextMiddleware,
        ],
    )
    spec = load_spec()
    app.add_api(
        spec,
        resolver=Resolver(function_resolver=lambda operation_id: getattr(handlers, operation_id)),
        validator_map={
            "parameter": UnleashParameterValidator,
            "body": {"*/*json": UnleashBodyValidator},
        },
    )
    app.add_url_rule(
        "/docs/openapi.json", "openapi", lambda request: spec_document(spec), methods=["GET"]
    )
    app.add_url_rule("/auth/simple/login", "login", handlers.login, methods=["POST"])
    app.add_url_rule("/api/admin/user", "current_user", handlers.current_user, methods=["GET"])
    app.add_error_handler(UnleashError, _unleash_error)
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(HTTPException, _http_exception)
    app.store = store  # type: ignore[attr-defined]  # for tests and embedding
    return app


def _unleash_error(request: Request, exc: UnleashError) -> Response:
    return exc.response()


def _problem(request: Request, exc: ProblemException) -> Response:
    # Connexion's own problems are about the body's media type (415) or routing (404/405).
    if exc.status == 415:
        return ContentTypeError(request.headers.get("content-type")).response()
    return PathNotFound(request.url.path).response()


def _http_exception(request: Request, exc: HTTPException) -> Response:
    # Unleash answers an unknown path, and a known path with an unrouted method, with 404.
    return PathNotFound(request.url.path).response()
