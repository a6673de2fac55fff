"""Unleash 6.10.1, measured on a running server against 8.2.0 (issue 12's report): 7.6.5's
differences, plus an `id` on every error body, `isAPI` on user objects, fewer session keys and
ui-config keys of its own. Its crash on a deeply nested body is not copied: the mock answers
the 400 7.x gives (the message 6.10.1 would have built)."""

from __future__ import annotations

from mock_server.versions.contracts import REFERENCE, overlay
from mock_server.versions.defects import DEFECTS_6
from mock_server.versions.profile import ErrorStyle, UnknownDelete, VersionProfile

PROFILE = VersionProfile(
    version="6.10.1",
    contract=REFERENCE,
    contract_overlays=(overlay("7.6.5"), overlay("6.10.1")),
    errors=ErrorStyle(every_error_has_id=True),
    unknown_delete=UnknownDelete.NOT_FOUND,
    pat_rate_limit=False,
    api_token_routes_refuse_user_tokens=False,
    strict_content_type_check=True,
    expiry_warnings=False,
    resends_session_cookie=False,
    user_is_api=True,
    session_user_keys=("scimId", "deletedSessions", "activeSessions"),
    ui_config_keys=(
        "environment",
        "flags",
        "version",
        "emailEnabled",
        "unleashUrl",
        "baseUriPath",
        "authenticationType",
        "segmentValuesLimit",
        "strategySegmentsLimit",
        "frontendApiOrigins",
        "versionInfo",
        "prometheusAPIAvailable",
        "disablePasswordAuth",
        "maintenanceMode",
        "maxSessionsCount",
    ),
    secure_account_tokens=False,
    defects=DEFECTS_6,
)
