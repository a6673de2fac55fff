"""Every private API of a dependency the mock relies on, in one place: connexion's, and one
of uvicorn's (the transport behind a request, to drop a connection on a fault).

The mock needs three things connexion 3 has no public hook for: the class that calls handlers
(to call them directly), the validator map of an operation (to build validators once), and how
path parameters become routes (so that `/:id` takes any segment, as Express does, without
registering a process-wide Starlette convertor). The shapes are checked at import, so that a
connexion that moved them fails at once with this message, not on some later request.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from typing import Any

import starlette.routing
from connexion import AsyncApp
from connexion.frameworks.starlette import starlettify_path
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware, RoutingOperation
from connexion.operations import AbstractOperation
from connexion.spec import Specification
from starlette.types import ASGIApp

SUPPORTED = "connexion >=3.1,<4 (tested with 3.3)"


def _check_shapes() -> None:
    missing = [
        what
        for what, present in (
            ("AsyncApp._middleware_app", "_middleware_app" in AsyncApp.__init__.__code__.co_names),
            (
                "RequestValidationOperation._validator_map",
                "_validator_map" in RequestValidationOperation.__init__.__code__.co_names,
            ),
            (
                "RequestValidationOperation._operation",
                "_operation" in RequestValidationOperation.__init__.__code__.co_names,
            ),
            ("RoutingAPI._framework_path_and_name", "_framework_path_and_name" in vars(RoutingAPI)),
            ("RoutingOperation.from_operation", hasattr(RoutingOperation, "from_operation")),
        )
        if not present
    ]
    if missing:
        raise ImportError(
            f"unleash-pat needs {SUPPORTED}; connexion {version('connexion')} lacks "
            + ", ".join(missing)
        )


_check_shapes()


def set_api_class(app: AsyncApp, api_cls: type) -> None:
    """Make `app` build its operations with `api_cls` (set before `add_api`)."""
    app._middleware_app.api_cls = api_cls


def validator_map(operation: RequestValidationOperation) -> dict[str, Any]:
    return operation._validator_map


def operation_of(validation: RequestValidationOperation) -> AbstractOperation:
    """The spec operation a validation operation validates requests for."""
    return validation._operation


class _UntypedPathRoutingAPI(RoutingAPI):
    @staticmethod
    def _framework_path_and_name(operation: AbstractOperation, path: str) -> tuple[str, str]:
        untyped = starlettify_path(path)  # `{id}`: Starlette's own `[^/]+`, whatever the type
        return untyped, untyped


class UntypedPathRoutingMiddleware(RoutingMiddleware):
    """Connexion's router, with path parameters matched as plain segments; the validator then
    checks their type. Unlike connexion's own, it registers no convertor process-wide."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.router = starlette.routing.Router(default=RoutingOperation(None, self.app))

    def add_api(self, specification: Specification, base_path: str | None = None, **kwargs: Any):
        api = _UntypedPathRoutingAPI(
            specification, base_path=base_path, next_app=self.app, **kwargs
        )
        self.router.mount(api.base_path, app=api.router)


async def close_connection(receive: Any) -> None:
    """Drop the client's connection, sending nothing more: the control plane's `drop` and
    `truncate` faults. ASGI has no message for it, so this closes uvicorn's transport, which its
    request cycle (the owner of `receive`) holds. Served in process (no transport), it raises
    ConnectionResetError, which an in-process client sees as the failed connection."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("unleash-pat fault: connection dropped")
    transport.close()
    # Let uvicorn see the connection lost, so it does not try to answer on it.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
