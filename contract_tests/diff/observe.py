"""An answer reduced to what a client observes, with only what is random by nature normalised;
and the comparison of two such observations.

Normalised: the values each side binds on its own (its secrets, ids, session cookies and the
sha256 of their session ids, as 8.2's ui-config shows them, host; replaced by their
`${NAME}`), ids found in user and PAT objects (by the label they are bound to), unknown
secrets, error ids (uuids), bcrypt hashes (invite links), session cookies, the `Date` header,
and the ETag and Content-Length of a body holding any of those. Timestamps and the seconds of
`Retry-After`/`RateLimit-Reset` stay as they are and compare equal within a tolerance.
Everything else must match: status line, framing, every header, the body (JSON compared member
by member, key order included).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from contract_tests.diff.wire import Answer

ABSENT = "<absent>"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")
_TIME = re.compile(f"({TIMESTAMP.pattern}|{HTTP_DATE.pattern})")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SECRET = re.compile(r"user:(?:v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}|[0-9a-f]{56})")
BCRYPT = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")
# express-session's signed cookie value `s:<id>.<signature>`, raw or percent-encoded.
SESSION = re.compile(r"s(?::|%3A)[A-Za-z0-9_-]{20,}\.[A-Za-z0-9%+/=_-]+")
_ETAG = re.compile(r'(W/)?"[0-9a-f]+-[A-Za-z0-9+/=]+"')
_INDEX = re.compile(r"\[\d+\]")
_PATH_ID = re.compile(r"(?<=/)\d{1,10}(?=$|[/?#;)\s\"'])")
# Seconds counted down by a rate limiter's window: compared within the time tolerance.
_SECONDS = ("header.retry-after",)
# The seconds left in the PAT limiter's window. Each server starts a window at its first counted
# request after the last one ended, and a real server's windows follow every earlier client of
# the address as well: from outside the two cannot be aligned, so each need only be a whole
# number of seconds within the window its policy names (`RateLimit-Policy: N;w=60`).
_WINDOW_LEFT = "header.ratelimit-reset"
_POLICY = "header.ratelimit-policy"
_MIN_BOUND = 6  # shorter bound values (small ids) are too likely to occur by chance in text


@dataclass(frozen=True)
class Binding:
    """What one side has bound: `${NAME}` -> value, and ids -> their `${NAME}`."""

    values: Mapping[str, str]
    users: Mapping[int, str]
    pats: Mapping[int, str]


Observation = dict[str, Any]


class _Normalizer:
    def __init__(self, binding: Binding, sent_target: str, template_target: str) -> None:
        self.binding = binding
        # Longest first, so that a value inside another (a host inside a URL) loses.
        pairs = [(v, f"${{{k}}}") for k, v in binding.values.items() if len(v) >= _MIN_BOUND]
        pairs += [
            (_session_id_hash(v), f"${{{k}_SHA256}}")
            for k, v in binding.values.items()
            if k.startswith("SESSION_")
        ]
        if sent_target != template_target:
            pairs.append((sent_target, template_target))
            # A path segment holding an id, echoed in quotes by a validation message (`You
            # sent "20;x=1"`); only quoted, as a short id would also match digits by chance.
            pairs += [
                (f'"{sent}"', f'"{template}"')
                for sent, template in zip(
                    sent_target.split("/"), template_target.split("/"), strict=False
                )
                if sent != template
            ]
        self.pairs = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
        self.volatile = False  # something random was replaced

    def text(self, value: str) -> str:
        original = value
        for old, new in self.pairs:
            value = value.replace(old, new)
        value = _PATH_ID.sub(self._path_id, value)
        value = SECRET.sub("<secret>", value)
        value = UUID.sub("<uuid>", value)
        value = BCRYPT.sub("<bcrypt>", value)
        value = SESSION.sub("<session>", value)
        if value != original or _TIME.search(value):
            self.volatile = True
        return value

    def _path_id(self, match: re.Match[str]) -> str:
        """An id as a path segment, in a path the server echoes as it normalised it."""
        number = int(match.group(0))
        name = self.binding.users.get(number) or self.binding.pats.get(number)
        return f"${{{name}}}" if name else match.group(0)

    def pat_seen_at(self, value: Any) -> Any:
        """A PAT's seenAt is written by a batch every 3 minutes whose phase each server sets at
        its own start: null and a timestamp are the same observation."""
        if value is None or (isinstance(value, str) and TIMESTAMP.fullmatch(value)):
            self.volatile = True
            return "<seenAt>"
        return value

    def number(self, key: str, value: int, parent: dict[str, Any]) -> Any:
        is_user = "username" in parent or "email" in parent
        if key == "userId" or (key == "id" and is_user):
            self.volatile = True
            return self._label(self.binding.users.get(value), "<user id>")
        if key == "id" and _is_pat(parent):
            self.volatile = True
            return self._label(self.binding.pats.get(value), "<pat id>")
        return value

    @staticmethod
    def _label(name: str | None, unknown: str) -> str:
        return f"${{{name}}}" if name else unknown

    def prepare(self, value: Any) -> Any:
        """PAT lists sorted by id (Unleash's list has no ORDER BY)."""
        if isinstance(value, dict):
            value = {k: self.prepare(v) for k, v in value.items()}
            pats = value.get("pats")
            if isinstance(pats, list) and all(
                isinstance(p, dict) and isinstance(p.get("id"), int) for p in pats
            ):
                value["pats"] = sorted(pats, key=lambda p: p["id"])
            return value
        if isinstance(value, list):
            return [self.prepare(v) for v in value]
        return value

    def walk(self, value: Any, path: str, key: str, parent: Any, out: Observation) -> None:
        if isinstance(value, dict):
            out[f"{path}.@keys"] = ",".join(self.text(k) for k in value)
            for k, v in value.items():
                self.walk(v, f"{path}.{k}", k, value, out)
        elif isinstance(value, list):
            out[f"{path}.@len"] = len(value)
            for i, v in enumerate(value):
                self.walk(v, f"{path}[{i}]", key, None, out)
        elif key == "seenAt" and _is_pat(parent):
            out[path] = self.pat_seen_at(value)
        elif isinstance(value, str):
            out[path] = self.text(value)
        elif isinstance(value, int) and not isinstance(value, bool) and isinstance(parent, dict):
            out[path] = self.number(key, value, parent)
        else:
            out[path] = value


def _session_id_hash(cookie: str) -> str:
    """sha256 of the id in a session cookie's value (`s:<id>.<signature>`, percent-encoded)."""
    session_id = unquote(cookie)[2:].rpartition(".")[0]
    return hashlib.sha256(session_id.encode()).hexdigest()


def _is_pat(value: Any) -> bool:
    return isinstance(value, dict) and "expiresAt" in value and "description" in value


def observe(
    answer: Answer, binding: Binding, sent_target: str = "", template_target: str = ""
) -> Observation:
    """The comparable form of `answer`, as seen by the side that bound `binding`;
    `sent_target` (the request target with its values filled in) is shown back as
    `template_target` wherever the answer echoes it."""
    norm = _Normalizer(binding, sent_target, template_target)
    obs: Observation = {
        "status": answer.status,
        "reason": answer.reason,
        "version": answer.version,
        "framing": answer.framing,
        "interim": ",".join(map(str, answer.interim)),
        "error": _error_kind(answer.error),
    }
    _body(answer, norm, obs)
    volatile = norm.volatile
    cookies = 0
    for name, value in answer.headers:
        if name == "set-cookie":
            _set_cookie(value, norm, f"header.set-cookie[{cookies}]", obs)
            cookies += 1
            continue
        field = f"header.{name}"
        if name == "date":
            value = "<date>" if HTTP_DATE.fullmatch(value) else value
        elif name == "etag":
            pass  # a hash, compared whole or by its shape (`finish`)
        elif name == "location" and value.isdigit():
            user = binding.users.get(int(value))
            value = f"${{{user}}}" if user else norm.text(value)
        else:
            value = norm.text(value)
        obs[field] = value if field not in obs else f"{obs[field]}\n{value}"
    # The answer to a HEAD (a length, no body) or a 304: nothing says whether the body it stands for
    # holds random values.
    headless = not answer.body and (
        answer.status == 304 or (answer.header("content-length") or "0") != "0"
    )
    obs["@volatile"] = volatile or headless
    return obs


def _error_kind(error: str) -> str:
    """The kind of failure, without the system's wording (errno texts, addresses)."""
    for kind in ("timed out", "closed without an answer", "unparseable answer", "cannot connect"):
        if error.startswith(kind):
            return kind
    return "connection error" if error else ""


def _body(answer: Answer, norm: _Normalizer, obs: Observation) -> None:
    if not answer.body:
        obs["body"] = ""
        return
    decoded = answer.decoded()
    if decoded is None:
        encoding = answer.header("content-encoding")
        obs["body"] = f"<{len(answer.body)} bytes of {encoding}>"
        return
    content_type = (answer.header("content-type") or "").lower()
    if "json" in content_type:
        try:
            parsed = json.loads(decoded)
        except ValueError:
            pass
        else:
            norm.walk(norm.prepare(parsed), "body", "", None, obs)
            return
    obs["body"] = norm.text(decoded.decode("utf-8", "replace"))


def _set_cookie(value: str, norm: _Normalizer, field: str, obs: Observation) -> None:
    """A cookie's name and attributes; its value normalised, its date compared apart."""
    first, *attributes = (part.strip() for part in value.split(";"))
    name, _, cookie = first.partition("=")
    kept = []
    for attribute in attributes:
        key, _, date = attribute.partition("=")
        if key.lower() == "expires":
            obs[f"{field}.expires"] = date
            kept.append(f"{key}=<date>")
        else:
            kept.append(attribute)
    shown = norm.text(cookie) if cookie else ""
    obs[field] = "; ".join([f"{name}={shown}", *kept])


def finish(real: Observation, mock: Observation) -> tuple[Observation, Observation]:
    """The ETag and Content-Length of bodies holding random values say nothing comparable
    (their length and hash follow those values): keep their shape only, on both sides alike."""
    if real.pop("@volatile", False) | mock.pop("@volatile", False):
        for obs in (real, mock):
            if "header.etag" in obs:
                obs["header.etag"] = _ETAG.sub(
                    lambda m: f'{m.group(1) or ""}"<hash>"', obs["header.etag"]
                )
            if "header.content-length" in obs:
                obs["header.content-length"] = "<length>"
    return real, mock


@dataclass(frozen=True)
class Difference:
    field: str
    real: Any
    mock: Any

    def __str__(self) -> str:
        return f"{self.field}: real {_short(self.real)} / mock {_short(self.mock)}"


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare(real: Observation, mock: Observation, tolerance: float) -> list[Difference]:
    real, mock = finish(dict(real), dict(mock))
    fields = list(real) + [f for f in mock if f not in real]
    found = []
    for field in fields:
        a, b = real.get(field, ABSENT), mock.get(field, ABSENT)
        if field == _WINDOW_LEFT and _within_window(a, real) and _within_window(b, mock):
            continue
        if not _same(field, a, b, tolerance):
            found.append(Difference(field, a, b))
    return found


def _within_window(value: Any, observation: Observation) -> bool:
    window = re.fullmatch(r"\d+;w=(\d+)", str(observation.get(_POLICY, "")))
    return (
        window is not None
        and isinstance(value, str)
        and value.isdigit()
        and int(value) <= int(window.group(1))
    )


def _same(field: str, a: Any, b: Any, tolerance: float) -> bool:
    if type(a) is type(b) and a == b:  # 1, 1.0 and True are different JSON
        return True
    if isinstance(a, str) and isinstance(b, str):
        if field in _SECONDS:
            try:
                return abs(float(a) - float(b)) <= tolerance
            except ValueError:
                return False
        return _same_text(a, b, tolerance)
    return False


def _same_text(a: str, b: str, tolerance: float) -> bool:
    """Equal but for timestamps, each within `tolerance` seconds of its counterpart."""
    parts_a, parts_b = _TIME.split(a), _TIME.split(b)
    if len(parts_a) != len(parts_b) or len(parts_a) == 1:
        return False
    for i, (x, y) in enumerate(zip(parts_a, parts_b, strict=True)):
        if i % 2 == 0:
            if x != y:
                return False
        else:
            at_x, at_y = _instant(x), _instant(y)
            if at_x is None or at_y is None or abs((at_x - at_y).total_seconds()) > tolerance:
                return False
    return True


def _instant(text: str) -> datetime | None:
    try:
        if TIMESTAMP.fullmatch(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsedate_to_datetime(text).astimezone(UTC)
    except (ValueError, TypeError):
        return None


def collapse(field: str) -> str:
    """A field without its list positions: the same member of every item is one field."""
    return _INDEX.sub("[]", field)
