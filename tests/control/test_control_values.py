"""Control bodies hold finite numbers within their documented ranges, or nothing is installed."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server.control.routes import document

C = "/_unleash-pat"
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "text",
    [
        '{"status": 503, "probability": NaN}',
        '{"status": 503, "probability": Infinity}',
        '{"delay_ms": NaN}',
        '{"delay_ms": -Infinity}',
        '{"delay_ms": 1e400}',
        '{"delay_ms": {"min": 0, "max": NaN}}',
        '{"status": 503, "body": {"x": NaN}}',
        '{"status": 503, "body": [1e999]}',
    ],
)
def test_a_non_finite_number_in_a_fault_is_refused_and_nothing_is_installed(client, text):
    response = client.post(f"{C}/faults", content=text, headers=JSON)
    assert response.status_code == 400
    assert "finite" in response.json()["error"]
    listed = client.get(f"{C}/faults")
    assert (listed.status_code, listed.json()) == (200, {"faults": []})


@pytest.mark.parametrize("status", [100, 101, 199, 204, 205, 304, 600])
def test_a_fault_status_no_json_body_can_be_sent_with_is_refused(client, status):
    response = client.post(f"{C}/faults", json={"status": status, "body": {"m": 1}})
    assert response.status_code == 400
    assert client.get(f"{C}/faults").json() == {"faults": []}


@pytest.mark.parametrize("status", [200, 201, 302, 404, 429, 503, 599])
def test_a_fault_status_a_json_body_can_be_sent_with_is_answered(client, status):
    assert client.post(f"{C}/faults", json={"status": status, "body": {"m": 1}}).status_code == 201
    response = client.get("/api/admin/user/tokens", follow_redirects=False)
    assert (response.status_code, response.json()) == (status, {"m": 1})


@pytest.mark.parametrize(
    ("path", "method", "text"),
    [
        ("/clock/advance", "POST", '{"seconds": NaN}'),
        ("/clock/advance", "POST", '{"seconds": -Infinity}'),
        ("/options", "PUT", '{"token_expiry_notification_days": [NaN]}'),
        ("/fixtures", "POST", '{"users": [{"id": NaN, "username": "x"}]}'),
    ],
)
def test_a_non_finite_number_anywhere_in_a_control_body_is_a_400(client, path, method, text):
    def state() -> dict:
        return client.get(f"{C}/state").json() | {
            "clock": None,
            "options": client.get(f"{C}/options").json(),
        }

    before = state()
    response = client.request(method, C + path, content=text, headers=JSON)
    assert response.status_code == 400
    assert state() == before


def test_the_document_states_the_ranges():
    fault = document()["components"]["schemas"]["Fault"]["properties"]
    assert (fault["probability"]["minimum"], fault["probability"]["maximum"]) == (0, 1)
    assert fault["delay_ms"]["oneOf"][0]["maximum"] == 600_000
    assert fault["status"]["minimum"] == 200 and fault["status"]["maximum"] == 599
    assert fault["status"]["not"] == {"enum": [204, 205, 304]}


def test_a_rate_limit_beyond_its_range_is_refused(client: TestClient):
    response = client.put(f"{C}/options", json={"rate_limit_per_minute": 10**4000})
    assert response.status_code == 400
    assert client.get("/api/admin/user/tokens").status_code == 401  # still answering
