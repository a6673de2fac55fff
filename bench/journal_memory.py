#!/usr/bin/env python
"""The control plane's request journal stays bounded: drive the mock's ASGI app in process with
1,000,000 requests and report the process's RSS as they go.

    python bench/journal_memory.py [--requests N] [--every N] [--write]

The requests rotate over GET list, POST create (a 201 carrying a secret), DELETE of what was
created, and an unknown path with a unique query string, so every journal entry differs. In
process (no sockets, no HTTP parsing) the mock's own cost is what is measured; RSS is read from
/proc/self/statm. The journal holds its last 1,000 entries; RSS must level off once it is full.
`--write` also writes the samples, with the date, machine and commit, to
bench/results/journal-memory.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import record

from mock_server import Options, create_app, fixtures

PAGE = os.sysconf("SC_PAGE_SIZE")
TOKENS = b"/api/admin/user/tokens"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


async def drive(total: int, every: int) -> list[tuple[int, float, int]]:
    app = create_app(options=Options(rate_limit_per_minute=10**9))
    token = fixtures.load().users[0][1][0].secret.encode()
    created: list[int] = []
    status = 0
    body_out = bytearray()

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            body_out.extend(message.get("body", b""))

    async def call(method: str, path: bytes, query: bytes = b"", body: bytes = b"") -> bytes:
        body_out.clear()
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        headers = [(b"authorization", token), (b"host", b"bench")]
        if body:
            headers += [(b"content-type", b"application/json")]
            headers += [(b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path.decode(),
            "raw_path": path,
            "query_string": query,
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 4242),
            "root_path": "",
        }
        await app(scope, receive, send)
        return bytes(body_out)

    samples = [(0, rss_mb(), 0)]
    for n in range(1, total + 1):
        kind = n % 4
        if kind == 0:
            await call("GET", TOKENS)
        elif kind == 1:
            payload = json.dumps({"description": f"bench {n}", "expiresAt": "2099-01-01T00:00:00Z"})
            created.append(json.loads(await call("POST", TOKENS, body=payload.encode()))["id"])
        elif kind == 2:
            await call("DELETE", TOKENS + b"/" + str(created.pop()).encode())
        else:
            await call("GET", b"/api/admin/nothing", query=f"n={n}&user:{n:056x}".encode())
        assert status, "no answer"
        if n % every == 0:
            samples.append((n, rss_mb(), len(app.state.journal)))
            print(f"{n:>10} {samples[-1][1]:>8.1f} {samples[-1][2]:>8}", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument(
        "--write", action="store_true", help="also write bench/results/journal-memory.md"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{'requests':>10} {'RSS MB':>8} {'journal':>8}")
    print(f"{0:>10} {rss_mb():>8.1f} {0:>8}", flush=True)
    samples = asyncio.run(drive(args.requests, args.every))
    elapsed = time.perf_counter() - started
    after_fill = [rss for n, rss, _ in samples if n >= args.every]
    growth = after_fill[-1] - after_fill[0] if after_fill else 0.0
    print(
        f"{args.requests} requests in {elapsed:.0f} s; RSS growth after the first sample: "
        f"{growth:+.1f} MB"
    )
    if args.write:
        rows = "\n".join(f"| {n:,} | {rss:.1f} | {kept:,} |" for n, rss, kept in samples)
        record.write(
            "journal-memory",
            "The request journal's memory",
            f"{args.requests:,} requests driven through the mock's ASGI app in process (GET list,\n"
            "POST, DELETE, an unknown path with a unique query), in "
            f"{elapsed:.0f} s. RSS growth after the first sample: {growth:+.1f} MB.\n\n"
            "| requests | RSS MB | journal entries |\n|---|---|---|\n" + rows,
        )


if __name__ == "__main__":
    main()
