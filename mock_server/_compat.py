"""connexion, imported quietly, and every private API of it the mock relies on, in one place.

No other module imports connexion: connexion 3.3 reads jsonschema's deprecated `RefResolver` and
imports `starlette.testclient` (which, on Starlette 1.x without `httpx2`, warns), both at import
time, and a library must not make a user's `-W error` test run fail. The warnings are silenced for
this one import, by category or text and by the importing module, without touching the process's
filters.

The mock needs three things connexion 3 has no public hook for: the class that calls handlers
(to call them directly), the validator map of an operation (to build validators once), and how
path parameters become routes (so that `/:id` takes any segment, as Express does, without
registering a process-wide Starlette convertor). The shapes are checked at import, so that a
connexion that moved them fails at once with this message, not on some later request.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from typing import Any

import starlette.routing
from starlette.types import ASGIApp

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"connexion\.")
    # connexion 3.1 imports `multipart`, which python-multipart 0.0.13+ renamed.
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=r"connexion\.")
    # Starlette 0.x's test client (which connexion imports) uses an alias newer anyio deprecates.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"starlette\.testclient$")
    # Starlette 1.x's own category is a UserWarning: matched by its text.
    warnings.filterwarnings(
        "ignore", message="Using `httpx` with `starlette.testclient`", module=r"connexion\."
    )
    from connexion import AsyncApp
    from connexion.apps.asynchronous import AsyncApi, AsyncOperation
    from connexion.context import scope as request_scope
    from connexion.datastructures import MediaTypeDict
    from connexion.exceptions import ProblemException
    from connexion.frameworks.starlette import starlettify_path
    from connexion.lifecycle import ConnexionRequest, ConnexionResponse
    from connexion.middleware.context import ContextMiddleware
    from connexion.middleware.exceptions import ExceptionMiddleware
    from connexion.middleware.request_validation import (
        RequestValidationAPI,
        RequestValidationMiddleware,
        RequestValidationOperation,
    )
    from connexion.middleware.routing import RoutingAPI, RoutingMiddleware, RoutingOperation
    from connexion.operations import AbstractOperation
    from connexion.resolver import Resolver
    from connexion.spec import Specification
    from connexion.validators import AbstractRequestBodyValidator, ParameterValidator

__all__ = [
    "AbstractOperation",
    "AbstractRequestBodyValidator",
    "AsyncApi",
    "AsyncApp",
    "AsyncOperation",
    "ConnexionRequest",
    "ConnexionResponse",
    "ContextMiddleware",
    "ExceptionMiddleware",
    "MediaTypeDict",
    "ParameterValidator",
    "ProblemException",
    "RequestValidationAPI",
    "RequestValidationMiddleware",
    "RequestValidationOperation",
    "Resolver",
    "UntypedPathRoutingMiddleware",
    "operation_of",
    "request_scope",
    "set_api_class",
    "validator_map",
]

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
