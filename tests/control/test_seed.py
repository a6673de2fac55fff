"""`--seed N`: secrets, ids and error ids repeat from every start and every reset."""

from __future__ import annotations

from starlette.testclient import TestClient

from mock_server import Options, create_app
from tests.conftest import TOKENS, create


def _run(seed: int | None) -> list[str]:
    """What a short session sees: created secrets and ids, two error ids, a session cookie."""
    with TestClient(create_app(options=Options(seed=seed))) as client:
        seen = []
        for round_ in range(2):
            for n in range(2):
                pat = create(client, f"pat {n}").json()
                seen += [pat["secret"], str(pat["id"])]
            seen.append(client.get(TOKENS).json()["id"])
            seen.append(client.get(TOKENS, headers={"Authorization": "nope"}).json()["id"])
            login = {"username": "admin", "password": "unleash4all"}
            cookie = client.post("/auth/simple/login", json=login).headers["set-cookie"]
            seen.append(cookie.split(";")[0])  # its Expires follows the wall clock
            if round_ == 0:
                client.post("/_unleash-pat/reset")
        return seen


def test_a_seed_makes_secrets_ids_error_ids_and_session_cookies_reproducible():
    first = _run(7)
    assert first == _run(7)
    assert first[:7] == first[7:]  # a reset starts the sequence again
    assert first != _run(8)


def test_without_a_seed_secrets_and_error_ids_differ_from_run_to_run():
    first, second = _run(None), _run(None)
    assert first[0] != second[0] and first[4] != second[4]


def test_a_seeded_error_id_is_a_uuid_v4():
    with TestClient(create_app(options=Options(seed=1))) as client:
        error_id = client.get(TOKENS).json()["id"]
    assert error_id[14] == "4" and error_id[19] in "89ab"


def test_a_seeded_mock_leaves_the_error_ids_of_another_mock_random():
    def error_id(client: TestClient) -> str:
        return client.get(TOKENS).json()["id"]

    reference = TestClient(create_app(options=Options(seed=1)))
    sequence = [error_id(reference) for _ in range(3)]
    seeded, other = TestClient(create_app(options=Options(seed=1))), TestClient(create_app())
    assert error_id(seeded) == sequence[0]
    assert {error_id(other), error_id(other)}.isdisjoint(sequence)
    assert error_id(seeded) == sequence[1]
