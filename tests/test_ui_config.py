"""GET /api/admin/ui-config answers as each release's recording (releases/ui-config/), with
the values of the instance, the options and the caller computed: docs/observations/
unleash-8.2.0.md#ui-config-recording and the same section of every release's page."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from contract_tests import expectations
from mock_server import Options, create_app, versions
from mock_server.versions import ReleaseError, UiValue, UnleashContext, VersionProfile
from mock_server.versions.releases import BUNDLED, load
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, auth

PROFILES = versions.profiles()
ALL = list(PROFILES)
UI_CONFIG = "/api/admin/ui-config"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
OPTION_FLAGS = {
    UiValue.PATS_KILL_SWITCH: "pats_kill_switch",
    UiValue.TOKEN_EXPIRY_NOTIFICATIONS: "token_expiry_notifications",
    UiValue.SECURE_ACCOUNT_TOKEN_STORAGE: "secure_account_tokens",
}


def client_as(version: str, **options: object) -> TestClient:
    return TestClient(create_app(options=Options(unleash_version=version, **options)))  # type: ignore[arg-type]


def recorded(version: str) -> dict:
    """The release's own recording, as stored."""
    return json.loads((BUNDLED / "ui-config" / f"unleash-{version}.json").read_text())


def placeholders(value: object) -> set[UiValue]:
    if isinstance(value, dict):
        return {p for v in value.values() for p in placeholders(v)}
    return {value} if isinstance(value, UiValue) else set()


def matches(answer: object, recording: object, computed: dict[str, object]) -> bool:
    """`answer` is `recording` with each placeholder as `computed` names it, key order kept."""
    if isinstance(recording, str) and recording.startswith("${"):
        return answer == computed[recording[2:-1]]
    if isinstance(recording, dict):
        return (
            isinstance(answer, dict)
            and list(answer) == list(recording)
            and all(matches(answer[k], v, computed) for k, v in recording.items())
        )
    return json.dumps(answer) == json.dumps(recording)


@pytest.mark.parametrize("version", ALL)
def test_each_release_answers_its_own_recording_with_the_instances_values(version):
    recording = recorded(version)  # every bundled release has its own
    with client_as(version) as client:
        body = client.get(UI_CONFIG, headers=auth(ADMIN_API_TOKEN)).json()
        again = client.get(UI_CONFIG, headers=auth(ADMIN_API_TOKEN)).json()
    instance = body["versionInfo"]["instanceId"]
    assert UUID.fullmatch(instance)
    computed = {
        "version": version,
        "unleashUrl": "http://testserver",
        "baseUriPath": "",
        "authenticationType": "open-source",
        "instanceId": instance,
        "unleashContext": {},
        "personalAccessTokensKillSwitch": False,
        "tokenExpiryNotifications": False,
        "secureAccountTokenStorage": False,
    }
    assert matches(body, recording, computed)
    assert list(body["flags"]) == list(recording["flags"])
    assert again == body  # one instance, one instanceId
    with client_as(version) as other:
        answer = other.get(UI_CONFIG, headers=auth(ADMIN_API_TOKEN)).json()
    assert answer["versionInfo"]["instanceId"] != instance


@pytest.mark.parametrize("version", ALL)
def test_the_flags_the_options_set_follow_them(version):
    recording = PROFILES[version].ui_config()
    flags = placeholders(recording["flags"])
    assert flags <= set(OPTION_FLAGS)
    assert PROFILES[version].expiry_warnings == (UiValue.TOKEN_EXPIRY_NOTIFICATIONS in flags)
    secure = UiValue.SECURE_ACCOUNT_TOKEN_STORAGE in flags
    assert PROFILES[version].secure_account_tokens == secure
    on = {OPTION_FLAGS[flag]: True for flag in flags}
    with client_as(version, **on) as client:
        answered = client.get(UI_CONFIG, headers=auth(ADMIN_API_TOKEN)).json()["flags"]
    assert {name for name, value in answered.items() if value is True} >= {f.value for f in flags}


@pytest.mark.parametrize("version", ALL)
def test_the_release_files_keys_and_context_agree_with_the_recording(version):
    """The keys the contract suite expects are sent, in order; `unleashContext` is a
    placeholder exactly where the release says how it is built."""
    profile = PROFILES[version]
    recording = profile.ui_config()
    keys = iter(recording)  # `in` consumes it: the expected keys in the recording's order
    assert all(key in keys for key in expectations.resolve(version).ui_config_keys)
    has_context = recording.get("unleashContext") is UiValue.UNLEASH_CONTEXT
    assert has_context == (profile.unleash_context is not UnleashContext.NONE)


def _session_id(cookie: str) -> str:
    signed = unquote(cookie.split(";", 1)[0].split("=", 1)[1])
    return signed[2:].rpartition(".")[0]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "version",
    [v for v, p in PROFILES.items() if p.unleash_context is not UnleashContext.NONE],
)
def test_unleash_context_is_the_callers(version):
    """An admin API token's is empty; a user's holds the email (hashed from 8.2) and the id,
    and from 8.2 a session cookie adds the hash of its id, also beside an admin token that
    acts. admin has no email: no key."""
    hashed = PROFILES[version].unleash_context is UnleashContext.HASHED
    email = _sha256("alice@example.com") if hashed else "alice@example.com"
    with client_as(version) as client:

        def context(**request: object) -> dict:
            return client.get(UI_CONFIG, **request).json()["unleashContext"]

        assert context(headers=auth(ADMIN_API_TOKEN)) == {}
        assert context(headers=auth(ALICE_PAT)) == {"email": email, "userId": 2}
        assert context(headers=auth(ADMIN_PAT)) == {"userId": 1}
        login = client.post(
            "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        cookie = login.headers["set-cookie"]
        client.cookies.clear()
        session_id = {"sessionId": _sha256(_session_id(cookie))} if hashed else {}
        session = {"Cookie": cookie.split(";", 1)[0]}
        assert context(headers=session) == {"userId": 1} | session_id
        both = context(headers=session | auth(ADMIN_API_TOKEN))
        acting = {"userId": 1} if PROFILES[version].cookie_beats_admin_token else {}
        assert both == acting | session_id
        # Several Cookie headers are read joined, as Node joins them (seen on 8.2.0).
        two = [("cookie", "a=1"), ("cookie", session["Cookie"])]
        assert context(headers=two) == {"userId": 1} | session_id


def test_a_release_without_its_own_recording_answers_as_its_base(tmp_path: Path):
    (tmp_path / "unleash-9.0.0.yaml").write_text("release: 9.0.0\nbased_on: 8.2.0\n")
    profile = load((BUNDLED, tmp_path))["9.0.0"]
    assert profile.ui_config() == PROFILES["8.2.0"].ui_config()


def test_a_recording_with_an_unknown_placeholder_is_refused(tmp_path: Path):
    (tmp_path / "unleash-9.0.1.yaml").write_text("release: 9.0.1\nbased_on: 8.2.0\n")
    (tmp_path / "ui-config").mkdir()
    (tmp_path / "ui-config" / "unleash-9.0.1.json").write_text('{"version": "${nope}"}')
    profile: VersionProfile = load((BUNDLED, tmp_path))["9.0.1"]
    with pytest.raises(ReleaseError, match=r"\$\{nope\} is none of version"):
        profile.ui_config()


def test_the_recording_script_writes_the_placeholders_the_mock_computes():
    script = Path(__file__).resolve().parents[1] / "scripts" / "probe-pat-api.py"
    spec = importlib.util.spec_from_file_location("probe_pat_api", script)
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    assert set(probe.PLACEHOLDERS.values()) == {value.value for value in UiValue}
