"""The resource units, in the order they are built, seeded and shown: accounts before PATs,
whose fixtures and snapshot hang under the users. `create_app(units=...)` takes another table
(these plus a unit of your own, say)."""

from __future__ import annotations

from mock_server.units import accounts, pats, server_info, user_admin
from mock_server.units.base import Call, Handler, Route, Unit

UNITS: tuple[Unit, ...] = (accounts.UNIT, pats.UNIT, server_info.UNIT, user_admin.UNIT)

__all__ = ["UNITS", "Call", "Handler", "Route", "Unit"]
