"""The app factory: openapi.yaml, routed by connexion, in front of the mock's state."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response

from mock_server import fixtures as fixture_files
from mock_server._compat import (
    AsyncApp,
    ConnexionRequest,
    ConnexionResponse,
    ContextMiddleware,
    ExceptionMiddleware,
    MediaTypeDict,
    ProblemException,
    Resolver,
    UntypedPathRoutingMiddleware,
    set_api_class,
)
from mock_server.auth import AuthMiddleware
from mock_server.body_parser import BodyParserMiddleware
from mock_server.clock import Clock
from mock_server.compression import CompressionMiddleware
from mock_server.control.middleware import PREFIX as CONTROL_PREFIX
from mock_server.control.middleware import ControlMiddleware
from mock_server.control.routes import ControlApi
from mock_server.errors import ContentTypeError, UnleashError
from mock_server.handlers import PatHandlers, spec_document
from mock_server.operations import DirectApi
from mock_server.options import Options
from mock_server.responses import json_response
from mock_server.routing import ExpressPathMiddleware, RouteTable
from mock_server.state import MockState
from mock_server.store import PatStore
from mock_server.validation import (
    CachedRequestValidationMiddleware,
    UnleashBodyValidator,
    UnleashParameterValidator,
)

_log = logging.getLogger("mock_server")


class MockApp(AsyncApp):
    """The mock as an ASGI app; `state` is everything it holds (store, clock, options …)."""

    state: MockState


def create_app(
    fixtures: str | Path | fixture_files.Fixtures | None = None,
    *,
    options: Options | None = None,
    clock: Clock | None = None,
    store_class: type[PatStore] = PatStore,
    control: bool = True,
    control_token: str | None = None,
    state_path: Path | None = None,
) -> MockApp:
    """The mock as an ASGI app. `fixtures` is a YAML path or parsed Fixtures (default:
    fixtures/default.yaml); `options` picks the Unleash version and its flags; `clock` lets a
    test hold or move time; `control` serves the control API under /_unleash-pat/ (with
    `control_token`, only to callers that send it); `state_path` keeps users, PATs and ids in
    that SQLite file across restarts. Raises FixtureError for fixtures the version refuses."""
    if not isinstance(fixtures, fixture_files.Fixtures):
        fixtures = fixture_files.load(fixtures)
    state = MockState(
        fixtures, options, clock=clock, store_class=store_class, state_path=state_path
    )
    handlers = PatHandlers(state)
    control_api = ControlApi(state, prefix=CONTROL_PREFIX, token=control_token) if control else None

    spec = state.profile.spec()
    style = state.profile.errors

    def unknown_error(request: Request, exc: Exception) -> Response:
        # A bug in the mock: logged once, with the request line only (no query, no headers, so
        # no credential), and answered as Unleash answers its own unexpected errors.
        _log.error(
            "unexpected error answering %s %s", request.method, request.url.path, exc_info=exc
        )
        return UnleashError("An unexpected error occurred in the unleash-pat mock.").response(style)

    # Connexion's stack, rearranged to Express's order in Unleash: compression wraps every
    # response; the JSON body parser and authentication run before routing, so they apply to
    # unknown paths too.
    app = MockApp(
        __name__,
        middlewares=[
            # The control plane sees every request first: faults and the journal wrap the rest.
            functools.partial(ControlMiddleware, state=state, control=control_api),
            # Starlette's, with a handler: connexion's own calls an async handler synchronously.
            functools.partial(ServerErrorMiddleware, handler=unknown_error),
            CompressionMiddleware,
            ExpressPathMiddleware,
            BodyParserMiddleware,
            functools.partial(AuthMiddleware, state=state),
            ExceptionMiddleware,
            UntypedPathRoutingMiddleware,
            CachedRequestValidationMiddleware,
            ContextMiddleware,
        ],
    )
    app.state = state
    set_api_class(app, DirectApi)

    app.add_api(
        spec,
        resolver=Resolver(function_resolver=lambda operation_id: getattr(handlers, operation_id)),
        validator_map={
            "parameter": UnleashParameterValidator,
            "body": MediaTypeDict(
                {
                    "*/*json": functools.partial(
                        UnleashBodyValidator,
                        strict_content_type=state.profile.strict_content_type_check,
                    )
                }
            ),
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
    app.add_url_rule("/api/admin/ui-config", "ui_config", handlers.ui_config, methods=["GET"])
    routes = RouteTable(spec, style)

    def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        # Connexion's own problems are about the body's media type (415) or routing.
        if exc.status == 415:
            provided = request.headers.get("content-type")
            return _connexion_response(ContentTypeError(provided).response(style))
        return _connexion_response(routes.unrouted(request.scope, request.method))

    def http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        # A path no route takes (404), or a method it does not take (405).
        return _connexion_response(routes.unrouted(request.scope, request.method))

    def unleash_error(request: ConnexionRequest, exc: UnleashError) -> ConnexionResponse:
        return _connexion_response((handlers.defect_of(request.scope, exc) or exc).response(style))

    app.add_error_handler(UnleashError, unleash_error)
    app.add_error_handler(
        Exception, lambda request, exc: _connexion_response(unknown_error(request, exc))
    )
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, http_exception)
    return app


def _connexion_response(response: Response) -> ConnexionResponse:
    # Connexion's error-handler wrapper rebuilds a Starlette response from these fields.
    return ConnexionResponse(
        status_code=response.status_code, body=response.body, headers=dict(response.headers)
    )
