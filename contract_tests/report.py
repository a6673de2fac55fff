"""What a run found: findings, per-check results, the baseline of known defects, and reports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import yaml

from contract_tests.api import Redactor, curl_of

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
    also: tuple[str, ...] = ()  # the other rules the same answer breaks (one finding a defect)

    @property
    def checks(self) -> tuple[str, ...]:
        return (self.check, *self.also)

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
            curl_of(request, redact),
            redact(f"{response.status_code} {response.text[:500]}"),
        )

    def render(self, verbose: bool = True) -> str:
        """The finding with its request, answer and reproducing command; a known defect in one
        line unless `verbose`."""
        head = f"[{', '.join(self.checks)}] {self.operation}"
        if self.known and not verbose:
            return f"{head}: known: {self.known}"
        lines = [f"{head}: {self.message}"]
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


BASELINES = Path(__file__).resolve().parent / "baselines"
_ENTRY_KEYS = {"checks", "operation", "match", "reason"}


class BaselineError(ValueError):
    """A baseline that cannot be used; the message names the file and the problem."""


class Baseline:
    """Known defects of a target: a finding is known when one of its checks is one of the
    entry's `checks`, its operation is the entry's, and `match` (a regex) occurs in its message
    or response. One defect usually trips several checks (e.g. a 500 fails not_a_server_error and
    status_code_conformance), so an entry lists them all.

    A baseline file (YAML) holds `known:`, a list of entries, and may name the release whose
    baseline it adds to (`based_on: 7.6.5`, a file of `contract_tests/baselines/`)."""

    def __init__(self, defects: list[KnownDefect], source: str = "<baseline>") -> None:
        self.defects = defects
        self.source = source

    @classmethod
    def load(cls, path: str | Path, _seen: tuple[Path, ...] = ()) -> Baseline:
        path = Path(path)
        if path.resolve() in _seen:
            raise BaselineError(f"{path}: based_on makes a cycle")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise BaselineError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not set(data) <= {"known", "based_on"}:
            what = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise BaselineError(
                f"{path}: a baseline is a mapping with `known:` (a list of known defects) and "
                f"perhaps `based_on:` (a release), not {what}"
            )
        entries = data.get("known") or []
        if not isinstance(entries, list):
            raise BaselineError(f"{path}: `known` must be a list of entries")
        defects = [_entry(path, number, entry) for number, entry in enumerate(entries, 1)]
        if "based_on" in data:
            base = cls.load(
                BASELINES / f"unleash-{data['based_on']}.yaml", (*_seen, path.resolve())
            )
            defects = base.defects + defects
        return cls(defects, str(path))

    @classmethod
    def named(cls, name: str) -> Baseline:
        """A file, or a release whose baseline ships with the suite (`8.2.0`)."""
        bundled = BASELINES / f"unleash-{name}.yaml"
        if not Path(name).exists() and bundled.exists():
            return cls.load(bundled)
        if not Path(name).exists() and re.fullmatch(r"[0-9]+(\.[0-9]+)*", name):
            known = ", ".join(
                sorted(p.stem.removeprefix("unleash-") for p in BASELINES.glob("*.yaml"))
            )
            raise BaselineError(f"no baseline ships for Unleash {name} (there are: {known})")
        return cls.load(name)

    def classify(self, result: CheckResult) -> None:
        for finding in result.findings:
            for defect in self.defects:
                if (
                    not defect.checks.isdisjoint(finding.checks)
                    and defect.operation == finding.operation
                    and defect.match.search(finding.message + "\n" + finding.response)
                ):
                    finding.known = defect.reason
                    break
        if result.findings:
            new = any(f.known is None for f in result.findings)
            result.status = Status.FAILED if new else Status.KNOWN


def _entry(path: Path, number: int, entry: object) -> KnownDefect:
    where = f"{path}: entry {number}"
    if not isinstance(entry, dict):
        raise BaselineError(f"{where} is no mapping")
    unknown = set(entry) - _ENTRY_KEYS
    missing = {"checks", "operation", "reason"} - set(entry)
    if unknown or missing:
        raise BaselineError(f"{where}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    checks = entry["checks"]
    if not isinstance(checks, list) or not checks or not all(isinstance(c, str) for c in checks):
        raise BaselineError(f"{where}: `checks` must be a list of check names")
    try:
        match = re.compile(str(entry.get("match", "")))
    except re.error as exc:
        raise BaselineError(f"{where}: `match` is no regular expression: {exc}") from None
    return KnownDefect(frozenset(checks), str(entry["operation"]), match, str(entry["reason"]))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(
    results: list[CheckResult],
    target: str,
    requests: int,
    seconds: float,
    *,
    verbose: bool = False,
    variables: list[str] | None = None,
    notices: list[str] | None = None,
) -> str:
    """The report: one line per check, then each finding (known ones in one line unless
    `verbose`), then the counts. `variables`: the shell variables reproducing commands use."""
    sent = plural(requests, "request")
    lines = [f"unleash-pat check of {target}: {sent} in {seconds:.1f} s"]
    lines += [f"notice: {notice}" for notice in notices or []]
    lines.append("")
    for r in results:
        used = f"{plural(r.requests, 'request')}, {r.seconds:.1f} s"
        extra = f" ({r.reason})" if r.reason else f" ({used})"
        lines.append(f"  {r.status.value.upper():8} {r.layer:10} {r.name}{extra}")
    findings = [f for r in results for f in r.findings]
    if any(f.curl and not f.known for f in findings) and variables:
        shown = ", ".join(f"${name}" for name in variables)
        lines += ["", f"Reproduce with {shown} exported (the credentials the run was given)."]
    for finding in findings:
        lines += ["", finding.render(verbose)]
    counts = {s: sum(r.status is s for r in results) for s in Status}
    lines += ["", ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)]
    return "\n".join(lines)


def markdown(results: list[CheckResult], target: str, requests: int, seconds: float) -> str:
    """A summary for CI pages (GitHub's $GITHUB_STEP_SUMMARY): a table of the checks, then the
    new findings, each with its reproducing command."""
    counts = {s: sum(r.status is s for r in results) for s in Status}
    totals = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    lines = [
        f"### unleash-pat check of {target}",
        "",
        f"{plural(requests, 'request')} in {seconds:.1f} s: {totals}",
        "",
        "| status | layer | check | note |",
        "|---|---|---|---|",
    ]
    for r in results:
        note = r.reason or "; ".join(f.message for f in r.findings if not f.known)
        note = note.replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {r.status.value} | {r.layer} | `{r.name}` | {note} |")
    for finding in (f for r in results for f in r.findings if not f.known):
        lines += ["", f"**{', '.join(finding.checks)}** {finding.operation}: {finding.message}"]
        if finding.curl:
            lines += ["", "```sh", finding.curl, "```"]
    return "\n".join(lines) + "\n"


# Characters XML 1.0 cannot hold (control bytes of a gzip body, a NUL): written as \xNN.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
        text = _xml_text("\n\n".join(f.render() for f in r.findings))
        if r.status is Status.FAILED:
            ET.SubElement(case, "failure", message=f"{len(r.findings)} violation(s)").text = text
        elif r.status is Status.NOT_RUN:
            ET.SubElement(case, "skipped", message=_xml_text(r.reason))
        elif text:
            ET.SubElement(case, "system-out").text = text
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
