"""What the server says of itself and of its caller: `GET /api/admin/user`,
`GET /api/admin/ui-config`, `GET /docs/openapi.json`, `GET /health`. No state of its own."""

from __future__ import annotations

from mock_server.units.base import Route, Unit
from mock_server.units.server_info import handlers

UNIT = Unit(
    name="server_info",
    routes=(
        Route("/api/admin/user", ("GET",), handlers.current_user),
        Route("/api/admin/ui-config", ("GET",), handlers.ui_config),
        Route("/docs/openapi.json", ("GET",), handlers.contract),
        Route("/health", ("GET",), handlers.health),
    ),
)
