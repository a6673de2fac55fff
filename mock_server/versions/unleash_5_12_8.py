"""Unleash 5.12.8, measured on a running server against 8.2.0 (issue 12's report): 6.10.1's
differences, plus `description` beside every error detail, schema errors naming the property
rather than a JSON pointer, DELETE's id checked by id-number-middleware (a service 400 "ID
should be an integer"), a session cookie beating an admin API token, and no cap on sessions.
Its 500s for ids that pass that check but not PostgreSQL (`1e3`, `107.0`, beyond int4) are
not copied: the mock reads them as the number they spell."""

from __future__ import annotations

from mock_server.versions.contracts import REFERENCE, overlay
from mock_server.versions.defects import DEFECTS_BEFORE_8
from mock_server.versions.profile import ErrorStyle, IdCheck, UnknownDelete, VersionProfile

PROFILE = VersionProfile(
    version="5.12.8",
    contract=REFERENCE,
    contract_overlays=(overlay("7.6.5"), overlay("6.10.1"), overlay("5.12.8")),
    errors=ErrorStyle(every_error_has_id=True, detail_descriptions=True, property_paths=True),
    unknown_delete=UnknownDelete.NOT_FOUND,
    id_check=IdCheck.NUMBER_MIDDLEWARE,
    pat_rate_limit=False,
    api_token_routes_refuse_user_tokens=False,
    strict_content_type_check=True,
    expiry_warnings=False,
    cookie_beats_admin_token=True,
    resends_session_cookie=False,
    max_sessions_per_user=None,
    user_is_api=True,
    session_user_keys=("scimId",),
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
        "disablePasswordAuth",
        "maintenanceMode",
    ),
    secure_account_tokens=False,
    defects=DEFECTS_BEFORE_8,
)
