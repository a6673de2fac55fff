"""The store on its own: atomic rules under threads, constant-time lookups, the id sequence."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from mock_server import versions
from mock_server.clock import Clock
from mock_server.units.pats.models import PatStore, StoreError

FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
DEFAULT = versions.default()
PAT_LIMIT = DEFAULT.pat_limit


def store_with_user() -> PatStore:
    return PatStore(
        clock=Clock(), pat_limit=PAT_LIMIT, new_secret=DEFAULT.new_secret, seen_at_flush_seconds=0
    )


def test_threads_racing_to_create_never_pass_the_limit_or_duplicate():
    store = store_with_user()
    outcomes: list[str] = []
    start = threading.Barrier(50)

    def create(i: int) -> None:
        start.wait()
        try:
            store.create(1, f"d{i % 15}", FUTURE)
            outcomes.append("created")
        except StoreError as exc:
            outcomes.append(exc.rule.value)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pats = store.list(1)
    assert outcomes.count("created") == PAT_LIMIT == len(pats)
    assert len({p.description for p in pats}) == len({p.id for p in pats}) == PAT_LIMIT


def test_lookup_is_by_digest_and_expired_or_deleted_secrets_fail():
    store = store_with_user()
    pat, secret = store.create(1, "a", FUTURE)
    assert store.find(secret) == pat
    assert store.find(secret[:-1] + ("1" if secret.endswith("0") else "0")) is None
    store.delete(1, pat.id)
    assert store.find(secret) is None
    _, old = store.create(1, "old", datetime.now(UTC) - timedelta(seconds=1), check_expiry=False)
    assert store.find(old) is None and store.in_use(old)


def test_delete_only_removes_the_owners_pat():
    store = store_with_user()
    pat, _ = store.create(1, "mine", FUTURE)
    assert store.delete(2, pat.id) is False
    assert store.delete(1, pat.id) is True
    assert store.delete(1, pat.id) is False
