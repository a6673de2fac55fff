"""The project grows by data and by units: a made-up release is one file in a directory of
$UNLEASH_PAT_RELEASES, and a made-up family of endpoints is one mock unit and one suite unit
written outside the package. Both the mock and the contract suite pick them up."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from starlette.testclient import TestClient

from contract_tests.api import Api, Budget
from contract_tests.context import Settings
from contract_tests.registry import discover
from contract_tests.report import summary
from contract_tests.suite import run_suite
from mock_server import UNITS, Options, create_app
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, TOKENS, auth, create, served

MADE_UP = "8.9.0"
RELEASE = f"""
release: {MADE_UP}
based_on: 8.2.0
pats:
  limit: 4
messages:
  too_many_pats: At most {{limit}} PATs a user, says this made-up release.
contract:
  info: {{version: {MADE_UP}}}
"""


@pytest.fixture
def made_up_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / f"unleash-{MADE_UP}.yaml").write_text(RELEASE, encoding="utf-8")
    monkeypatch.setenv("UNLEASH_PAT_RELEASES", str(tmp_path))
    return tmp_path


def test_a_made_up_release_in_a_directory_is_served_by_the_mock(made_up_release: Path) -> None:
    app = create_app(options=Options(unleash_version=MADE_UP))
    with TestClient(app) as client:
        assert client.get("/api/admin/ui-config", headers=auth(ADMIN_PAT)).json()["version"] == (
            MADE_UP
        )
        assert client.get("/docs/openapi.json").json()["info"]["version"] == MADE_UP
        statuses = [create(client, f"pat {n}").status_code for n in range(4)]
        assert statuses == [201, 201, 201, 403]  # the fixture PAT is the first of four
        refused = create(client, "one more").json()
        assert refused["message"] == "At most 4 PATs a user, says this made-up release."


def test_the_suite_checks_a_made_up_release_by_its_data(made_up_release: Path) -> None:
    checks = [
        c for c in discover() if c.name in ("pat_limit_enforced", "ui_config_describes_the_server")
    ]
    served = create_app(options=Options(unleash_version=MADE_UP))
    outcome = run_suite(Settings(app=served), checks=checks)
    assert outcome.suite.ctx.expect.version == MADE_UP
    assert outcome.suite.ctx.expect.pat_limit == 4
    assert outcome.conforms, summary(outcome.results, MADE_UP, 0, 0.0)
    # The reference release's mock, checked as the made-up one, breaks the made-up limit.
    reference = Settings(app=create_app(), unleash_version=MADE_UP)
    failed = {f.check for r in run_suite(reference, checks=checks).results for f in r.findings}
    assert "pat_limit_enforced" in failed


def test_serve_answers_as_a_made_up_release(made_up_release: Path) -> None:
    argv = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0"]
    with subprocess.Popen(
        [*argv, "--unleash-version", MADE_UP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as serve:
        try:
            assert serve.stdout is not None and serve.stderr is not None
            banner = serve.stdout.readline()
            assert f"Unleash {MADE_UP}" in banner, banner
            url = banner.split(" at ")[1].split()[0]
            config = httpx.get(f"{url}/api/admin/ui-config", headers=auth(ADMIN_PAT), timeout=10)
            assert config.json()["version"] == MADE_UP
        finally:
            serve.terminate()
            serve.wait(10)


# -- a made-up family of endpoints: widgets, with a contract, a mock unit and a suite unit -------
WIDGETS_RELEASE = f"""
release: {MADE_UP}
based_on: 8.2.0
contract:
  info: {{version: {MADE_UP}}}
  paths:
    /api/admin/widgets:
      get:
        operationId: getWidgets
        responses:
          "200":
            description: The caller's widgets.
            content:
              application/json:
                schema: {{$ref: "#/components/schemas/widgetsSchema"}}
          "401": {{$ref: "#/components/responses/Unauthorized"}}
          "429": {{$ref: "#/components/responses/TooManyRequests"}}
      post:
        operationId: createWidget
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [name]
                properties:
                  name: {{type: string, minLength: 1}}
        responses:
          "201":
            description: The widget.
            content:
              application/json:
                schema: {{$ref: "#/components/schemas/widgetSchema"}}
          "400": {{$ref: "#/components/responses/BadData"}}
          "401": {{$ref: "#/components/responses/Unauthorized"}}
          "413": {{$ref: "#/components/responses/PayloadTooLarge"}}
          "415": {{$ref: "#/components/responses/UnsupportedMediaType"}}
          "429": {{$ref: "#/components/responses/TooManyRequests"}}
    /api/admin/widgets/{{id}}:
      delete:
        operationId: deleteWidget
        parameters:
          - {{name: id, in: path, required: true, schema: {{type: integer, minimum: 1,
              maximum: 2147483647}}}}
        responses:
          "200": {{description: Deleted (or there was no such widget).}}
          "400": {{$ref: "#/components/responses/BadData"}}
          "401": {{$ref: "#/components/responses/Unauthorized"}}
          "429": {{$ref: "#/components/responses/TooManyRequests"}}
  components:
    schemas:
      widgetSchema:
        type: object
        additionalProperties: false
        required: [id, name]
        properties:
          id: {{type: integer}}
          name: {{type: string}}
      widgetsSchema:
        type: object
        additionalProperties: false
        required: [widgets]
        properties:
          widgets: {{type: array, items: {{$ref: "#/components/schemas/widgetSchema"}}}}
"""

WIDGETS_UNITS = '''
"""Widgets: a made-up family of endpoints, as a mock unit and a suite unit."""

from mock_server.node.responses import EndResponse, json_response
from mock_server.units import Unit
from contract_tests.units import Guard, SuiteUnit

KIND = "widget"


class Widgets:
    def __init__(self):
        self.by_id, self.next_id = {}, 1

    def add(self, name):
        widget = {"id": self.next_id, "name": name}
        self.by_id[self.next_id], self.next_id = widget, self.next_id + 1
        return widget


async def get_widgets(call):
    return json_response({"widgets": list(call.state.backends["widgets"].by_id.values())})


async def create_widget(call):
    return json_response(call.state.backends["widgets"].add(call.body["name"]), 201)


async def delete_widget(call):
    call.state.backends["widgets"].by_id.pop(call.params["id"], None)
    return EndResponse(200)


def seed(state, fixtures):
    for widget in fixtures.data.get("widgets", []):
        state.backends["widgets"].add(widget["name"])


def snapshot(state, out, secrets):
    out["widgets"] = list(state.backends["widgets"].by_id.values())


MOCK_UNIT = Unit(
    name="widgets",
    operations={
        "getWidgets": get_widgets,
        "createWidget": create_widget,
        "deleteWidget": delete_widget,
    },
    build=lambda state: {"widgets": Widgets()},
    fixture_schema={
        "properties": {
            "widgets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                },
            }
        }
    },
    seed=seed,
    snapshot=snapshot,
)


def cleanup(ctx, api, deleted):
    listed = api.request("GET", "/api/admin/widgets", token=ctx.token).json()["widgets"]
    for widget in listed:
        if widget["id"] in ctx.ledger.ids(KIND) or widget["name"].startswith(ctx.prefix):
            api.request("DELETE", f"/api/admin/widgets/{widget['id']}", token=ctx.token)
            deleted.append(f"widget {widget['id']}")
    return []


def guards(ctx):
    def prepare_create(ctx, case):
        if isinstance(case.body, dict) and isinstance(case.body.get("name"), str):
            case.body["name"] = ctx.prefix + case.body["name"]

    def record_create(ctx, case, response):
        ctx.track(ctx.token, response, kind=KIND)

    def prepare_delete(ctx, case):
        if case.path_parameters.get("id") not in ctx.ledger.ids(KIND):
            case.path_parameters["id"] = 2147483647  # never one the run did not create

    return {
        "getWidgets": Guard(),
        "createWidget": Guard(prepare_create, record_create),
        "deleteWidget": Guard(prepare_delete),
    }


SUITE_UNIT = SuiteUnit(KIND, cleanup, guards)
'''


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("made_up_widgets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def widgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    (tmp_path / f"unleash-{MADE_UP}.yaml").write_text(WIDGETS_RELEASE, encoding="utf-8")
    monkeypatch.setenv("UNLEASH_PAT_RELEASES", str(tmp_path))
    (tmp_path / "widgets.py").write_text(textwrap.dedent(WIDGETS_UNITS), encoding="utf-8")
    return _module(tmp_path / "widgets.py")


def test_a_made_up_unit_is_routed_seeded_shown_and_reset(widgets: ModuleType) -> None:
    from mock_server.fixtures import load

    app = create_app(
        load(None, (*UNITS, widgets.MOCK_UNIT)),
        options=Options(unleash_version=MADE_UP),
        units=(*UNITS, widgets.MOCK_UNIT),
    )
    with TestClient(app) as client:
        client.post("/_unleash-pat/fixtures", json={"widgets": [{"name": "from fixtures"}]})
        created = client.post("/api/admin/widgets", headers=auth(ADMIN_PAT), json={"name": "new"})
        assert created.status_code == 201
        refused = client.post("/api/admin/widgets", headers=auth(ADMIN_PAT), json={"name": 7.5e9})
        assert refused.status_code == 201  # Ajv coerces the number to the string "7500000000"
        bad = client.post("/api/admin/widgets", headers=auth(ADMIN_PAT), json={})
        assert bad.status_code == 400 and bad.json()["details"][0]["path"] == "/body/name"
        assert client.get("/api/admin/widgets").status_code == 401  # /api is guarded for it too
        names = [w["name"] for w in client.get("/_unleash-pat/state").json()["widgets"]]
        assert names == ["from fixtures", "new", "7500000000"]
        client.post("/_unleash-pat/reset")
        assert client.get("/_unleash-pat/state").json()["widgets"] == []
        # The PATs are untouched by the widgets, and the other way round.
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200


def test_the_suite_guards_a_made_up_units_operations_and_cleans_up_after_them(
    widgets: ModuleType,
) -> None:
    app = create_app(options=Options(unleash_version=MADE_UP), units=(*UNITS, widgets.MOCK_UNIT))
    openapi = [c for c in discover() if c.name == "openapi_conformance"]
    outcome = run_suite(Settings(app=app, units=(widgets.SUITE_UNIT,)), checks=openapi)
    assert outcome.conforms, summary(outcome.results, MADE_UP, 0, 0.0)
    ledger = outcome.suite.ctx.ledger
    assert ledger.ids("widget"), "schemathesis created no widget the run recorded"
    # Every widget it created is gone (by the run's own DELETEs or the final cleanup; which one
    # depends on what Hypothesis generated).
    assert app.state.backends["widgets"].by_id == {}
    # The unit's cleanup removes what a run left, and only that.
    ctx, widgets_now = outcome.suite.ctx, app.state.backends["widgets"]
    left = widgets_now.add(ctx.prefix + "left by an interrupted run")
    theirs = widgets_now.add("somebody else's")
    deleted: list[str] = []
    with TestClient(app, base_url="http://testserver") as http:
        api = Api(http, Budget(10, 10, None), ctx.redact)
        assert widgets.cleanup(ctx, api, deleted) == [] and deleted == [f"widget {left['id']}"]
    assert list(widgets_now.by_id.values()) == [theirs]


def test_a_deployment_never_gets_an_operation_no_unit_guards(widgets: ModuleType) -> None:
    """Without the widgets' suite unit, a run against a deployment leaves widgets alone (the
    in-process mock still gets them: nothing there can be harmed)."""
    app = create_app(options=Options(unleash_version=MADE_UP), units=(*UNITS, widgets.MOCK_UNIT))
    openapi = [c for c in discover() if c.name == "openapi_conformance"]
    credentials = {"token": ADMIN_PAT, "token_2": ALICE_PAT, "admin_token": ADMIN_API_TOKEN}
    with served(app) as url:
        outcome = run_suite(Settings(base_url=url, **credentials), checks=openapi)
    paths = {entry.path for entry in app.state.journal.entries()}
    assert TOKENS in paths and "/api/admin/widgets" not in paths
    assert outcome.suite.budget.sent > 50
