"""The app factory: the release's contract, routed by connexion to the units' handlers, behind
Express's middleware in Unleash's order, with the control plane in front."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

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
from mock_server.auth import MOUNT_POINTS, AuthMiddleware, LoginLimitMiddleware
from mock_server.clock import Clock
from mock_server.control.hosts import IN_PROCESS_HOSTS
from mock_server.control.middleware import PREFIX as CONTROL_PREFIX
from mock_server.control.middleware import ControlMiddleware
from mock_server.control.routes import ControlApi
from mock_server.errors import ContentTypeError, UnleashError
from mock_server.node.ajv import (
    CachedRequestValidationMiddleware,
    UnleashBodyValidator,
    UnleashParameterValidator,
)
from mock_server.node.body_parser import BodyParserMiddleware, json_body
from mock_server.node.compression import CompressionMiddleware
from mock_server.node.routing import (
    ExpressPathMiddleware,
    RouteTable,
    decode_param,
    route_prefixes,
)
from mock_server.operations import DirectApi
from mock_server.options import Options
from mock_server.persistence import StateFileError
from mock_server.state import MockState
from mock_server.units import UNITS, Call, Handler, Unit

_log = logging.getLogger("mock_server")


class MockApp(AsyncApp):
    """The mock as an ASGI app; `state` is everything it holds (backends, clock, options …)."""

    state: MockState


def create_app(
    fixtures: str | Path | fixture_files.Fixtures | None = None,
    *,
    options: Options | None = None,
    clock: Clock | None = None,
    units: Iterable[Unit] = UNITS,
    control: bool = True,
    control_token: str | None = None,
    control_allowed_hosts: Iterable[str] = IN_PROCESS_HOSTS,
    state_path: Path | None = None,
) -> MockApp:
    """The mock as an ASGI app. `fixtures` is a YAML path or parsed Fixtures (default:
    fixtures/default.yaml); `options` picks the Unleash release and its flags; `clock` lets a
    test hold or move time; `units` are the resource units it serves (default: all of
    mock_server.units.UNITS); `control` serves the control API under /_unleash-pat/ (with
    `control_token`, only to callers that send it), to requests whose Host is a loopback name
    or address or one of `control_allowed_hosts` (default: the TestClient's `testserver`), and
    from no other origin; `state_path` keeps users, PATs and ids in
    that SQLite file across restarts (one mock's at a time: `app.state.close()` lets go of it;
    StateFileError when it cannot be used). Raises FixtureError for fixtures the release refuses."""
    units = tuple(units)
    if not isinstance(fixtures, fixture_files.Fixtures):
        fixtures = fixture_files.load(fixtures, units)
    state = MockState(fixtures, options, clock=clock, units=units, state_path=state_path)
    control_api = (
        ControlApi(
            state, prefix=CONTROL_PREFIX, token=control_token, allowed_hosts=control_allowed_hosts
        )
        if control
        else None
    )
    profile = state.profile
    spec = profile.spec()
    operations = {op: handler for unit in units for op, handler in unit.operations.items()}

    def unknown_error(request: Request, exc: Exception) -> Response:
        # A bug in the mock: logged once, with the request line only (no query, no headers, so
        # no credential), and answered as Unleash answers its own unexpected errors.
        _log.error(
            "unexpected error answering %s %s", request.method, request.url.path, exc_info=exc
        )
        return UnleashError("An unexpected error occurred in the unleash-pat mock.").response(
            profile
        )

    # Connexion's stack, rearranged to Express's order in Unleash: compression wraps every
    # response; the JSON body parser and authentication run before routing, so they apply to
    # unknown paths too.
    paths = [*spec.get("paths", {}), *(r.path for u in units for r in u.routes), *MOUNT_POINTS]
    prefixes = route_prefixes(paths)
    app = MockApp(
        __name__,
        middlewares=[
            # The control plane sees every request first: faults and the journal wrap the rest.
            functools.partial(
                ControlMiddleware, state=state, control=control_api, prefixes=prefixes
            ),
            # Starlette's, with a handler: connexion's own calls an async handler synchronously.
            functools.partial(ServerErrorMiddleware, handler=unknown_error),
            CompressionMiddleware,
            functools.partial(ExpressPathMiddleware, prefixes=prefixes),
            functools.partial(LoginLimitMiddleware, state=state, before_body=True),
            functools.partial(BodyParserMiddleware, profile=profile),
            functools.partial(LoginLimitMiddleware, state=state, before_body=False),
            functools.partial(
                AuthMiddleware,
                state=state,
                guarded=tuple(r.path for u in units for r in u.routes if r.authenticated),
            ),
            ExceptionMiddleware,
            UntypedPathRoutingMiddleware,
            CachedRequestValidationMiddleware,
            ContextMiddleware,
        ],
    )
    app.state = state
    set_api_class(app, DirectApi)

    def resolve(operation_id: str) -> object:
        if operation_id not in operations:
            raise LookupError(f"no unit answers the contract's operation {operation_id}")
        return _called_with_scope(state, operations[operation_id])

    app.add_api(
        spec,
        resolver=Resolver(function_resolver=resolve),
        validator_map={
            "parameter": UnleashParameterValidator,
            "body": MediaTypeDict(
                {
                    "*/*json": functools.partial(
                        UnleashBodyValidator,
                        strict_content_type=profile.strict_content_type_check,
                        ajv=profile.ajv,
                    )
                }
            ),
        },
    )
    for unit in units:
        for route in unit.routes:
            endpoint = _called_with_request(state, route.handler)
            app.add_url_rule(route.path, route.path, endpoint, methods=list(route.methods))
    routes = RouteTable(spec, profile, ((r.path, r.methods) for u in units for r in u.routes))

    def problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
        # Connexion's own problems are about the body's media type (415) or routing.
        if exc.status == 415:
            provided = request.headers.get("content-type")
            return _connexion_response(ContentTypeError(provided).response(profile))
        return _connexion_response(routes.unrouted(request.scope, request.method))

    def http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        # A path no route takes (404), or a method it does not take (405).
        return _connexion_response(routes.unrouted(request.scope, request.method))

    def unleash_error(request: ConnexionRequest, exc: UnleashError) -> ConnexionResponse:
        call = Call.of(state, request.scope)
        answers = (unit.rewrite_error(call, exc) for unit in units if unit.rewrite_error)
        answer = next((a for a in answers if a is not None), exc)
        return _connexion_response(answer.response(profile))

    def state_file_error(request: ConnexionRequest, exc: StateFileError) -> ConnexionResponse:
        # Logged where it was found, saying what happened: a 500 without a traceback.
        return _connexion_response(
            UnleashError(
                "The unleash-pat mock cannot keep this change: its state file is gone."
            ).response(profile)
        )

    app.add_error_handler(UnleashError, unleash_error)
    app.add_error_handler(StateFileError, state_file_error)
    app.add_error_handler(
        Exception, lambda request, exc: _connexion_response(unknown_error(request, exc))
    )
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, http_exception)
    return app


def _called_with_scope(
    state: MockState, handler: Handler
) -> Callable[[Scope], Awaitable[Response]]:
    async def operation(scope: Scope) -> Response:
        await json_body(scope)  # built now, on a worker thread if large
        return await handler(Call.of(state, scope))

    return operation


def _called_with_request(
    state: MockState, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        params = request.scope["path_params"]
        request.scope["path_params"] = {name: decode_param(v) for name, v in params.items()}
        await json_body(request.scope)  # built now, on a worker thread if large
        return await handler(Call.of(state, request.scope))

    return endpoint


def _connexion_response(response: Response) -> ConnexionResponse:
    # Connexion's error-handler wrapper rebuilds a Starlette response from these fields.
    return ConnexionResponse(
        status_code=response.status_code, body=response.body, headers=dict(response.headers)
    )
