"""Every schemathesis internal the suite relies on, in one place, checked at import.

schemathesis has no per-run registry of custom checks or `before_call` hooks: both are
process-wide. The suite therefore registers its own only for the span of its run (`scoped`) and
removes them after, so any other schemathesis run in the process never sees them. It also drives
the engine directly (to share the run's request budget) and reads the engine's recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis import checks as _checks
from schemathesis import engine as _engine
from schemathesis import hooks as _hooks
from schemathesis.engine import events

SUPPORTED = "4.32"  # the schemathesis minor version this module was written against

_EXPECTED = {
    "schemathesis.engine.from_schema": (_engine, "from_schema"),
    "schemathesis.engine.events.ScenarioFinished": (events, "ScenarioFinished"),
    "schemathesis.engine.events.FatalError": (events, "FatalError"),
    "schemathesis.engine.events.NonFatalError": (events, "NonFatalError"),
    "schemathesis.engine.events.Interrupted": (events, "Interrupted"),
    "schemathesis.checks.CHECKS.register": (_checks.CHECKS, "register"),
    "schemathesis.checks.CHECKS.unregister": (_checks.CHECKS, "unregister"),
    "schemathesis.checks.CHECKS.get_all_names": (_checks.CHECKS, "get_all_names"),
    "schemathesis.hooks.GLOBAL_HOOK_DISPATCHER": (_hooks, "GLOBAL_HOOK_DISPATCHER"),
}
_missing = [name for name, (owner, attribute) in _EXPECTED.items() if not hasattr(owner, attribute)]
_dispatcher = getattr(_hooks, "GLOBAL_HOOK_DISPATCHER", None)
_missing += [
    f"GLOBAL_HOOK_DISPATCHER.{a}"
    for a in ("register_hook_with_name", "unregister", "get_all_by_name")
    if _dispatcher is not None and not hasattr(_dispatcher, a)
]
if _missing or not schemathesis.__version__.startswith(SUPPORTED + "."):
    raise ImportError(
        f"the unleash-pat contract suite supports schemathesis {SUPPORTED}.x (pinned 4.32.5); "
        f"found {schemathesis.__version__}"
        + (f", which lacks {', '.join(_missing)}" if _missing else "")
    )

ScenarioFinished = events.ScenarioFinished
FatalError = events.FatalError
NonFatalError = events.NonFatalError  # `label` (the operation), `value` (the exception)
Interrupted = events.Interrupted
from_schema = _engine.from_schema


@contextmanager
def scoped(
    checks: list[Callable[..., Any]], hooks: dict[str, Callable[..., Any]]
) -> Iterator[None]:
    """`checks` and global `hooks` (by hook name) registered for the body's span only."""
    taken = sorted(set(_checks.CHECKS.get_all_names()) & {c.__name__ for c in checks})
    if taken:
        raise RuntimeError(f"schemathesis already has checks named {taken}")
    registered: list[Callable[..., Any]] = []
    added: list[str] = []
    try:
        for check in checks:
            _checks.CHECKS.register(check)
            added.append(check.__name__)
        for name, hook in hooks.items():
            _hooks.GLOBAL_HOOK_DISPATCHER.register_hook_with_name(hook, name)
            registered.append(hook)
        yield
    finally:
        for hook in registered:
            _hooks.GLOBAL_HOOK_DISPATCHER.unregister(hook)
        for name in added:
            _checks.CHECKS.unregister(name)


def registered_checks() -> list[str]:
    """The names of every check schemathesis would run now."""
    return list(_checks.CHECKS.get_all_names())


def global_hooks(name: str) -> list[Callable[..., Any]]:
    """The process-wide hooks registered under `name`."""
    return list(_hooks.GLOBAL_HOOK_DISPATCHER.get_all_by_name(name))


def failures(recorder: Any) -> Iterator[tuple[str, str, Any, Any]]:
    """(check name, case id, case, failure) for each failed check of a finished scenario; a
    failure has a `title` and a `message`."""
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.failure_info is not None:
                case = recorder.cases[case_id].value
                yield node.name, case_id, case, node.failure_info.failure


@dataclass(frozen=True)
class Exchange:
    """What was sent for a case and what came back."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int | None
    text: str


def exchange(recorder: Any, case_id: str) -> Exchange | None:
    interaction = recorder.interactions.get(case_id)
    if interaction is None:
        return None
    request, response = interaction.request, interaction.response
    headers = [
        (name, value)
        for name, values in request.headers.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    return Exchange(
        request.method,
        request.uri,
        headers,
        request.body or b"",
        response.status_code if response is not None else None,
        response.content.decode("utf-8", "backslashreplace") if response is not None else "",
    )
