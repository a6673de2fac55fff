"""Unleash 7.6.5, measured on a running server against 8.2.0 (issue 12's report, R1 to R27):
no PAT rate limit, 404 "No PAT found." for a missing id (also for an admin token), no Set-Cookie
on a session's first use, no expiryWarning (the flag came in 8.1)."""

from __future__ import annotations

from mock_server.versions.contracts import REFERENCE, overlay
from mock_server.versions.defects import DEFECTS_BEFORE_8
from mock_server.versions.profile import UnknownDelete, VersionProfile

PROFILE = VersionProfile(
    version="7.6.5",
    contract=REFERENCE,
    contract_overlays=(overlay("7.6.5"),),
    unknown_delete=UnknownDelete.NOT_FOUND,
    pat_rate_limit=False,
    api_token_routes_refuse_user_tokens=False,
    expiry_warnings=False,
    resends_session_cookie=False,
    secure_account_tokens=False,
    defects=DEFECTS_BEFORE_8,
)
