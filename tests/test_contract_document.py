"""openapi.yaml is valid OpenAPI 3.0, keeps Unleash's names and adds what Unleash omits."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def test_contract_is_valid_openapi():
    validate(SPEC)


def test_contract_keeps_unleash_operation_ids_schemas_and_security_schemes():
    operations = {
        op["operationId"]: (path, method)
        for path, ops in SPEC["paths"].items()
        for method, op in ops.items()
    }
    assert operations == {
        "getPats": ("/api/admin/user/tokens", "get"),
        "createPat": ("/api/admin/user/tokens", "post"),
        "deletePat": ("/api/admin/user/tokens/{id}", "delete"),
    }
    assert {"patsSchema", "patSchema", "createPatSchema"} <= set(SPEC["components"]["schemas"])
    assert {"apiKey", "bearerToken"} <= set(SPEC["components"]["securitySchemes"])


def test_contract_documents_every_status_unleash_returns():
    responses = {
        op["operationId"]: set(op["responses"])
        for ops in SPEC["paths"].values()
        for op in ops.values()
    }
    assert responses["getPats"] >= {"200", "401", "403", "404", "429"}
    assert responses["createPat"] >= {"201", "400", "401", "403", "404", "409", "413", "415", "429"}
    assert responses["deletePat"] >= {"200", "400", "401", "403", "429"}


def test_created_pat_declares_no_location_header_and_links_to_delete_and_list():
    created = SPEC["paths"]["/api/admin/user/tokens"]["post"]["responses"]["201"]
    assert "location" not in {h.lower() for h in created.get("headers", {})}
    links = created["links"]
    assert links["DeleteCreatedPat"] == {
        "operationId": "deletePat",
        "parameters": {"id": "$response.body#/id"},
        "description": links["DeleteCreatedPat"]["description"],
    }
    assert links["ListPats"]["operationId"] == "getPats"
