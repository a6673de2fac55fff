"""Real Unleash's 500s on the PAT API, as their exact messages: data for a bug-compatible mode.
The mock itself answers the 4xx each request deserves (tests/parity/deliberate_differences.yaml).
`{value}` is the id or the expiresAt as sent. Measured on real servers (issue 12's report)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_SELECT = 'select * from "personal_access_tokens" where "id" = $1 limit $2'
_DELETE = 'delete from "personal_access_tokens" where "id" = $1 and "user_id" = $2'
_RETURNING = (
    ' returning "id", "description", "user_id", "expires_at", "created_at", "seen_at", "selector"'
)
_ADMIN_DELETE = (
    "Undefined binding(s) detected when compiling DEL. Undefined column(s): [user_id] query: "
    'delete from "personal_access_tokens" where "id" = ? and "user_id" = ?'
)
_COMMON = {
    "nul_description": (
        "SELECT EXISTS(SELECT 1 FROM personal_access_tokens WHERE description = $1 AND "
        'user_id = $2) AS present - invalid byte sequence for encoding "UTF8": 0x00'
    ),
    "expiry_offset_out_of_range": (
        'insert into "personal_access_tokens" ("description", "expires_at", "secret", '
        '"user_id") values ($1, $2, $3, $4) returning * - time zone displacement out of '
        'range: "{value}"'
    ),
}

# 8.2.0: DELETE goes straight to the delete query; an admin token's DELETE fails for any id.
DEFECTS_8: Mapping[str, str] = MappingProxyType(
    {
        **_COMMON,
        "delete_id_out_of_range": f'{_DELETE}{_RETURNING} - value "{{value}}" is out of range '
        "for type integer",
        "delete_id_not_int4_syntax": f"{_DELETE}{_RETURNING} - invalid input syntax for type "
        'integer: "{value}"',
        "admin_token_delete": _ADMIN_DELETE + _RETURNING,
    }
)
# 5.x to 7.x look the PAT up first (pat-service.deletePat), so the SELECT fails; an admin
# token's DELETE fails only for an id that exists (a missing one is a 404 first).
DEFECTS_BEFORE_8: Mapping[str, str] = MappingProxyType(
    {
        **_COMMON,
        "delete_id_out_of_range": f'{_SELECT} - value "{{value}}" is out of range for type integer',
        "delete_id_not_int4_syntax": f"{_SELECT} - invalid input syntax for type integer: "
        '"{value}"',
        "admin_token_delete": _ADMIN_DELETE,
    }
)
# 6.10.1 also dies on a deeply nested body sent with valid credentials: its validator's
# JSON.stringify overflows the stack and the process exits without answering.
DEFECTS_6: Mapping[str, str] = MappingProxyType(
    {
        **DEFECTS_BEFORE_8,
        "deep_nesting_crash": "RangeError: Maximum call stack size exceeded (no response; the "
        "process exits)",
    }
)
