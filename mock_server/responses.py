"""Responses as Express's `res.json()` writes them: compact JSON, `charset=utf-8`, weak ETag."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from starlette.responses import Response

from mock_server import node_json

JSON_UTF8 = "application/json; charset=utf-8"


def weak_etag(body: bytes) -> str:
    """The `etag` package's weak tag: length in hex and a truncated base64 SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = node_json.dumps_bytes(content)
    return Response(
        body,
        status_code=status,
        headers={"ETag": weak_etag(body), **(headers or {})},
        media_type=JSON_UTF8,
    )


class EndResponse(Response):
    """Express's `res.status(200).end()`: no body, no Content-Type, chunked framing."""

    def __init__(self, status: int = 200) -> None:
        super().__init__(status_code=status, headers={"Transfer-Encoding": "chunked"})
        # Starlette adds Content-Length: 0, which must not stand beside chunked framing.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
