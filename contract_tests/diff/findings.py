"""Differences grouped by cause, and how they are reported (text and JUnit XML).

An item's differences fall into at most two groups: its ambient header differences (the same on
several routes: one cause, whatever the request), and the rest, grouped by the known difference
they are, or else by the item's family and key (an http, burst or limiter item's variation, or
the route and its drawn value when the unvaried request differs alike; a sequence's first
differing operation). Each group keeps a count, the status pairs and fields seen, and one
reproduction: the smallest instance found, shrunk when the budget allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree as ET

from contract_tests.api import Redactor
from contract_tests.diff.known import Known
from contract_tests.diff.observe import BCRYPT, SESSION, Difference, collapse
from contract_tests.diff.traffic import Item
from contract_tests.diff.wire import Answer, escape

_SHOWN_HEADERS = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "allow",
    "location",
    "set-cookie",
    "retry-after",
    "ratelimit-remaining",
    "vary",
    "connection",
)
_BODY_SHOWN = 300
_FIELDS_SHOWN = 12


Signature = tuple[str, str, str, tuple[str, ...]]  # family, key, statuses, fields
AMBIENT = "ambient"
# Headers that follow the body (its length, hash, type, encoding): never ambient on their own.
_BODY_HEADERS = {
    "header.content-length",
    "header.etag",
    "header.content-type",
    "header.content-encoding",
    "header.transfer-encoding",
    "header.vary",
}
_AMBIENT_ROUTES = 3
# A rate limiter's counts, different in every answer.
_COUNTING = {"header.ratelimit-remaining", "header.ratelimit-reset", "header.retry-after"}


@dataclass
class Instance:
    """One item whose step `index` answered differently; `shrunk` and `reproduced` say what
    replaying it showed (None: not replayed)."""

    item: Item
    index: int
    real: Answer
    mock: Answer
    differences: list[Difference]
    shrunk: bool = False
    reproduced: bool | None = None

    @property
    def size(self) -> int:
        return len(self.item.steps)

    @property
    def operation(self) -> str:
        """The differing step's operation without the credential's spelling."""
        return self.item.steps[self.index].operation.split(" [", 1)[0]

    def statuses(self) -> str:
        real, mock = self.real.status, self.mock.status
        return f"{real}/{mock}" if real != mock else ""


def fields_of(differences: list[Difference]) -> tuple[str, ...]:
    return tuple(sorted({collapse(d.field) for d in differences}))


class Ambient:
    """Header differences that are the same (same field, same two values) on several routes,
    in answers that otherwise agree on their status: one cause whatever the request
    (Keep-Alive, say). They are grouped on their own, not as part of each request's."""

    def __init__(self) -> None:
        self._operations: dict[tuple[str, str, str], set[str]] = {}

    @staticmethod
    def _triple(d: Difference) -> tuple[str, str, str]:
        return (d.field, repr(d.real), repr(d.mock))

    def note(self, instance: Instance) -> None:
        if instance.statuses():
            return  # a different answer: its headers differ as a consequence
        for d in instance.differences:
            if d.field.startswith("header.") and d.field not in _BODY_HEADERS:
                self._operations.setdefault(self._triple(d), set()).add(instance.operation)

    def split(self, differences: list[Difference]) -> tuple[list[Difference], list[Difference]]:
        """(the rest, the ambient ones)."""
        rest, ambient = [], []
        for d in differences:
            operations = self._operations.get(self._triple(d), set())
            (ambient if len(operations) >= _AMBIENT_ROUTES else rest).append(d)
        return rest, ambient

    def signature(self, family: str, key: str, instance: Instance) -> Signature:
        """The exact difference `instance` shows (what shrinking must keep)."""
        rest, ambient = self.split(instance.differences)
        if not rest:
            return (AMBIENT, "any request", "", fields_of(ambient))
        return (family, key, instance.statuses(), fields_of(rest))


def _known(declared: list[Known], key: str, instance: Instance) -> Known | None:
    real_body = (instance.real.decoded() or b"").decode("utf-8", "replace")
    fields = fields_of(instance.differences)
    family, statuses = instance.item.family, instance.statuses()
    return next((k for k in declared if k.matches(family, key, statuses, fields, real_body)), None)


def _better(a: Instance, b: Instance) -> bool:
    return (a.size, a.reproduced is not True) < (b.size, b.reproduced is not True)


@dataclass(frozen=True)
class Found:
    """A differing instance and how its differences are keyed: `key` (the variation, the
    operation, the burst's kind); for an http item whose unvaried request differs too, that
    request's `route` (the operation and what was drawn in it) and its differences: those the
    instance shares with it are the route's, the rest the variation's."""

    key: str
    instance: Instance
    route: str = ""
    route_differences: tuple[Difference, ...] = ()

    def routed(self, d: Difference) -> bool:
        """Whether the route's request differed alike: in the same field, and, for the status
        line and headers, with the same two values (body values, timestamps among them, and a
        rate limiter's counts vary from one answer to the next)."""
        field = collapse(d.field)
        for r in self.route_differences:
            if collapse(r.field) == field:
                by_name = field.startswith("body") or field in _COUNTING
                return by_name or (r.real, r.mock) == (d.real, d.mock)
        return False


ROUTE = "route"  # the family of groups keyed by an operation (http routes and sequence steps)


def regroup(
    found: list[Found], examples: list[Found], ambient: Ambient, declared: list[Known]
) -> list[Group]:
    """Every differing instance in its final groups: its ambient differences in one; the rest
    in the group of the known difference they are, else by route or variation (see Found).
    `examples` (replays made to shrink or confirm) are not counted, but may serve as a
    group's reproduction."""
    groups: dict[tuple[str, str], Group] = {}

    def parts(each: Found) -> list[tuple[str, str, list[Difference]]]:
        """(group family, key, differences) of each part of an instance."""
        instance = each.instance
        rest, around = ambient.split(instance.differences)
        out = [(AMBIENT, ", ".join(fields_of(around)), around)] if around else []
        family = ROUTE if instance.item.family == "sequence" else instance.item.family
        routed = [d for d in rest if each.routed(d)]
        varied = [d for d in rest if not each.routed(d)]
        if routed:
            out.append((ROUTE, each.route, routed))
        if varied:
            out.append((family, each.key, varied))
        return out

    def place(each: Found, counted: bool) -> None:
        instance = each.instance
        for family, key, differences in parts(each):
            view = replace(instance, differences=differences)
            known = None if family == AMBIENT else _known(declared, key, view)
            signature = ("known", known.name) if known else (family, key)
            group = groups.get(signature)
            if group is None:
                if not counted:
                    continue
                name = "any request" if family == AMBIENT else key
                group = groups[signature] = Group(family, name, view, known=known, count=0)
            if counted:
                group.count += 1
                group.operations.add(instance.operation)
                group.families.add(instance.item.family)
                if family != AMBIENT:
                    group.statuses.add(view.statuses())
                group.fields.update(fields_of(differences))
            if _better(view, group.example):
                group.example = view

    for each in found:
        place(each, counted=True)
    for each in examples:
        place(each, counted=False)
    return list(groups.values())


@dataclass
class Group:
    """Differences of one cause: the same ambient headers, the same known difference, or the
    same item family and key (a variation, a route, an operation)."""

    family: str
    key: str
    example: Instance
    count: int = 1
    known: Known | None = None
    operations: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)  # of the items it was seen in
    statuses: set[str] = field(default_factory=set)  # "real/mock" pairs, "" when equal
    fields: set[str] = field(default_factory=set)

    @property
    def shrunk(self) -> bool:
        return self.example.shrunk

    @property
    def reproduced(self) -> bool | None:
        return self.example.reproduced

    def title(self) -> str:
        pairs = sorted(s for s in self.statuses if s)
        status = f" status {', '.join(pairs)}" if pairs else ""
        fields = sorted(self.fields)
        more = f" and {len(fields) - 4} more" if len(fields) > 4 else ""
        seen = f" (in {', '.join(sorted(self.families))} items)" if self.family == ROUTE else ""
        return f"{self.family} {self.key}{seen}:{status} {', '.join(fields[:4])}{more}"


def redact_text(text: str, redact: Redactor) -> str:
    text = SESSION.sub(lambda m: m.group(0)[:8] + "…", text)
    text = BCRYPT.sub(lambda m: m.group(0)[:10] + "…", text)
    return redact(text)


def show_answer(answer: Answer, redact: Redactor) -> str:
    if not answer.status:
        return answer.status_line()
    lines = [answer.status_line()]
    lines += [f"{n}: {v}" for n, v in answer.headers if n in _SHOWN_HEADERS]
    if answer.framing == "close":
        lines.append("(body delimited by closing the connection)")
    decoded = answer.decoded()
    if decoded is None:
        body = f"<{len(answer.body)} bytes, {answer.header('content-encoding')}>"
    else:
        body = escape(decoded[:_BODY_SHOWN]) + ("…" if len(decoded) > _BODY_SHOWN else "")
    if body:
        lines.append(body)
    return redact_text("\n".join(lines), redact)


def _indent(text: str, by: str) -> str:
    return "\n".join(by + line for line in text.splitlines())


def render_group(number: int, group: Group, redact: Redactor, *, verbose: bool) -> str:
    example = group.example
    state = f"known: {group.known.name}" if group.known else "UNDECLARED"
    replay = {None: "", True: ", reproduced on replay", False: ", NOT reproduced on replay"}
    head = (
        f"[{number}] {state}: {group.title()}\n"
        f"    {group.count} instance{'s' if group.count != 1 else ''}"
        f"{', shrunk' if group.shrunk else ''}{replay[group.reproduced]}; operations: "
        f"{', '.join(sorted(group.operations)[:6])}"
    )
    if group.known and not verbose:
        return head + f"\n    reason: {group.known.reason}"
    lines = [head]
    if group.known:
        lines.append(f"    reason: {group.known.reason}")
    shown = example.differences if verbose else example.differences[:_FIELDS_SHOWN]
    lines.append("    differences:")
    lines += [_indent(redact_text(str(d), redact), "      ") for d in shown]
    if len(example.differences) > len(shown):
        lines.append(f"      … and {len(example.differences) - len(shown)} more")
    steps = example.item.steps
    lines.append("    reproduction (send each request on its own connection, in order):")
    for i, step in enumerate(steps[: example.index + 1]):
        burst = f" (sent at once with the others of burst {step.burst})" if step.burst else ""
        marker = "  <- differs" if i == example.index else ""
        lines.append(f"      #{i + 1} {step.operation}{burst}{marker}")
        lines.append(_indent(redact_text(step.request.shown(), redact), "         "))
    lines.append("    real answered:")
    lines.append(_indent(show_answer(example.real, redact), "      "))
    lines.append("    mock answered:")
    lines.append(_indent(show_answer(example.mock, redact), "      "))
    return "\n".join(lines)


_PLACEHOLDERS = re.compile(r"\$[A-Z][A-Z0-9_]*")


def placeholders_note(groups: list[Group]) -> str:
    names = set()
    for group in groups:
        for step in group.example.item.steps:
            names |= set(_PLACEHOLDERS.findall(step.request.shown()))
    if not names:
        return ""
    return (
        "Placeholders: $HOST the server, $PAT_<USER> and $ADMIN_TOKEN credentials, "
        "$USER_ID_<USER>/$PAT_ID_<USER> ids, $SESSION_<n> the session cookie a login step set, "
        "$NEW_PAT_<n>/$NEW_PAT_ID_<n> the PAT a step created, each side with its own values."
    )


def junit_xml(groups: list[Group], path: str | Path, redact: Redactor, seconds: float) -> None:
    failures = [g for g in groups if g.known is None]
    suite = ET.Element(
        "testsuite",
        name="unleash-pat diff",
        tests=str(max(1, len(groups))),
        failures=str(len(failures)),
        time=f"{seconds:.3f}",
    )
    if not groups:
        ET.SubElement(suite, "testcase", classname="diff", name="no differences")
    for number, group in enumerate(groups, 1):
        case = ET.SubElement(
            suite, "testcase", classname=f"diff.{group.family}", name=group.title()
        )
        text = render_group(number, group, redact, verbose=True)
        if group.known is None:
            message = f"{group.count} undeclared difference(s)"
            ET.SubElement(case, "failure", message=message).text = text
        else:
            ET.SubElement(case, "system-out").text = text
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
