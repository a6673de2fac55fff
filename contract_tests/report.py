"""What a run found: findings, per-check results, the baseline of known defects, and reports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import yaml

from contract_tests.api import Redactor, curl

_ID = re.compile(r"(/api/admin/user/tokens/)[^/?]+")


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # new findings
    KNOWN = "known"  # only findings the baseline lists
    NOT_RUN = "not run"  # missing credentials, --read-only, or the run stopped first


@dataclass
class Finding:
    check: str  # the rule broken, e.g. `secret_never_listed`
    operation: str  # `DELETE /api/admin/user/tokens/{id}`
    message: str
    request: str = ""
    curl: str = ""
    response: str = ""
    known: str | None = None  # the baseline's reason, when this is a known defect

    @classmethod
    def of(
        cls, check: str, message: str, response: httpx.Response | None, redact: Redactor
    ) -> Finding:
        if response is None:
            return cls(check, "-", redact(message))
        request = response.request
        body = request.content.decode("utf-8", "backslashreplace")
        path = _ID.sub(r"\1{id}", request.url.path)
        return cls(
            check,
            f"{request.method} {path}",
            redact(message),
            redact(f"{request.method} {request.url}" + (f"\n{body}" if body else "")),
            curl(request, redact),
            redact(f"{response.status_code} {response.text[:500]}"),
        )

    def render(self) -> str:
        lines = [f"[{self.check}] {self.operation}: {self.message}"]
        if self.known:
            lines[0] += f"  (known: {self.known})"
        if self.request:
            lines.append(f"    request:  {self.request.replace(chr(10), chr(10) + ' ' * 14)}")
        if self.response:
            lines.append(f"    response: {self.response}")
        if self.curl:
            lines.append(f"    reproduce: {self.curl}")
        return "\n".join(lines)


@dataclass
class CheckResult:
    name: str
    layer: str
    status: Status = Status.PASSED
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""  # why it did not run
    seconds: float = 0.0
    requests: int = 0


@dataclass(frozen=True)
class KnownDefect:
    checks: frozenset[str]
    operation: str
    match: re.Pattern[str]
    reason: str


class Baseline:
    """Known defects of a target: a finding is known when its check is one of the entry's
    `checks`, its operation is the entry's, and `match` (a regex) occurs in its message or
    response. One defect usually trips several checks (e.g. a 500 fails not_a_server_error and
    status_code_conformance), so an entry lists them all."""

    def __init__(self, defects: list[KnownDefect]) -> None:
        self.defects = defects

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls(
            [
                KnownDefect(
                    frozenset(d["checks"]),
                    d["operation"],
                    re.compile(d.get("match", "")),
                    d["reason"],
                )
                for d in data.get("known", [])
            ]
        )

    def classify(self, result: CheckResult) -> None:
        for finding in result.findings:
            for defect in self.defects:
                if (
                    finding.check in defect.checks
                    and defect.operation == finding.operation
                    and defect.match.search(finding.message + "\n" + finding.response)
                ):
                    finding.known = defect.reason
                    break
        if result.findings:
            new = any(f.known is None for f in result.findings)
            result.status = Status.FAILED if new else Status.KNOWN


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(results: list[CheckResult], target: str, requests: int, seconds: float) -> str:
    sent = plural(requests, "request")
    lines = [f"unleash-pat check of {target}: {sent} in {seconds:.1f} s", ""]
    for r in results:
        used = f"{plural(r.requests, 'request')}, {r.seconds:.1f} s"
        extra = f" ({r.reason})" if r.reason else f" ({used})"
        lines.append(f"  {r.status.value.upper():8} {r.layer:10} {r.name}{extra}")
    for r in results:
        for finding in r.findings:
            lines += ["", finding.render()]
    counts = {s: sum(r.status is s for r in results) for s in Status}
    lines += ["", ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)]
    return "\n".join(lines)


def junit_xml(results: list[CheckResult], path: str | Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="unleash-pat contract",
        tests=str(len(results)),
        failures=str(sum(r.status is Status.FAILED for r in results)),
        skipped=str(sum(r.status is Status.NOT_RUN for r in results)),
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname=f"contract.{r.layer}", name=r.name, time=f"{r.seconds:.3f}"
        )
        text = "\n\n".join(f.render() for f in r.findings)
        if r.status is Status.FAILED:
            ET.SubElement(case, "failure", message=f"{len(r.findings)} violation(s)").text = text
        elif r.status is Status.NOT_RUN:
            ET.SubElement(case, "skipped", message=r.reason)
        elif text:
            ET.SubElement(case, "system-out").text = text
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
