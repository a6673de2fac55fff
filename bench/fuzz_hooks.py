"""schemathesis hooks for bench/fuzz_mock.py (loaded through SCHEMATHESIS_HOOKS in the child
schemathesis process only).

Keeps the fuzzer authenticated throughout: a DELETE aimed at its own PAT (id 1, in any spelling
Unleash coerces, such as "01", " 1" or "1e0") is aimed elsewhere. A schema-valid expiry in the
past is a service 400 by design, so such bodies get a far-future expiry to keep
positive_data_acceptance meaningful. Each PAT a create makes is deleted at once, so that creates
keep exercising the 201 path instead of meeting the 10-PAT limit.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import schemathesis

OWN_PAT_ID = 1
ELSEWHERE = 2_147_483_647
_EARLY_YEAR = re.compile(r"^\s*(\d{4})-")


def _means_own_pat(raw: Any) -> bool:
    try:
        return (
            float(
                str(raw).strip(),
            )
            == OWN_PAT_ID
        )
    except ValueError:
        try:
            return int(str(raw).strip(), 0) == OWN_PAT_ID
        except ValueError:
            return False


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    params = case.path_parameters or {}
    if case.method.upper() == "DELETE" and _means_own_pat(params.get("id")):
        params["id"] = ELSEWHERE
    body = case.body if isinstance(case.body, dict) else {}
    expires = body.get("expiresAt")
    early = isinstance(expires, str) and _EARLY_YEAR.match(expires)
    if early and int(early[1]) < 2100:
        body["expiresAt"] = "2999-01-01T00:00:00.000Z"


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if case.method.upper() == "POST" and response.status_code == 201:
        created = response.json()["id"]
        base = case.operation.base_url.rstrip("/")
        auth = {"Authorization": response.request.headers["authorization"]}
        httpx.delete(f"{base}/api/admin/user/tokens/{created}", headers=auth).raise_for_status()
