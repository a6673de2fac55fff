"""Unleash 8.2.0: the reference version, learnt from a running server (tests/parity)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from mock_server.versions.profile import VersionProfile

_HERE = Path(__file__).resolve().parent
# The wheel carries openapi.yaml inside the package; a source checkout has it at the top.
_CONTRACT = next(
    p for p in (_HERE.parent / "openapi.yaml", _HERE.parent.parent / "openapi.yaml") if p.exists()
)

# The SQL-leaking 500s, byte for byte as a real 8.2.0 (PostgreSQL 15) sends them.
_DELETE = (
    'delete from "personal_access_tokens" where "id" = $1 and "user_id" = $2 returning "id", '
    '"description", "user_id", "expires_at", "created_at", "seen_at", "selector"'
)
DEFECTS = {
    "nul": "SELECT EXISTS(SELECT 1 FROM personal_access_tokens WHERE description = $1 AND "
    'user_id = $2) AS present - invalid byte sequence for encoding "UTF8": 0x00',
    "delete_as_api_token": "Undefined binding(s) detected when compiling DEL. Undefined "
    "column(s): [user_id] query: " + _DELETE.replace("$1", "?").replace("$2", "?"),
    "delete_id_out_of_range": _DELETE + ' - value "{id}" is out of range for type integer',
    "delete_id_syntax": _DELETE + ' - invalid input syntax for type integer: "{id}"',
}

PROFILE = VersionProfile(version="8.2.0", contract=_CONTRACT, defects=MappingProxyType(DEFECTS))
