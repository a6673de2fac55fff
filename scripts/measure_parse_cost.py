#!/usr/bin/env python
"""What a deeply nested JSON body costs the mock, against a tiny one: request latency over a real
socket against `unleash-pat serve`, without credentials (the body parser runs before
authentication, so every body is parsed and then refused with 401).

    python scripts/measure_parse_cost.py [--requests 200]

Sends each body --requests times on one kept-alive connection, the kinds interleaved so that
noise from other processes falls on all of them alike, and prints the median latency of each
and its ratio to the tiny body's.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time

from _served import read_response, serve

SIZE = 8 * 1024
BODIES = {
    "tiny {}": b"{}",
    "8 kB [[[…]]] (valid)": b"[" * (SIZE // 2) + b"]" * (SIZE // 2),
    "8 kB [[[… (unclosed)": b"[" * SIZE,
    '8 kB {"a":{"a":…}} (valid)': b'{"a":' * (SIZE // 6) + b"1" + b"}" * (SIZE // 6),
    '8 kB [{"a":[{…}]}] (valid)': b'[{"a":' * (SIZE // 8) + b"1" + b"}]" * (SIZE // 8),
    "8 kB [[…1 2]] (invalid)": b"[" * (SIZE // 2 - 2) + b"1 2" + b"]" * (SIZE // 2 - 2),
}


def request(body: bytes) -> bytes:
    return (
        b"POST /api/admin/user/tokens HTTP/1.1\r\nHost: measure\r\n"
        b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="per body")
    args = parser.parse_args()
    latencies: dict[str, list[float]] = {name: [] for name in BODIES}
    with serve() as (_, port), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray()
        for body in BODIES.values():  # warm-up: connexion builds its validators lazily
            sock.sendall(request(body))
            read_response(sock, buffer)
        for _ in range(args.requests):
            for name, body in BODIES.items():
                started = time.perf_counter()
                sock.sendall(request(body))
                status, _, _ = read_response(sock, buffer)
                latencies[name].append(time.perf_counter() - started)
                assert status in (400, 401), (name, status)
    tiny = statistics.median(latencies["tiny {}"])
    print(f"median of {args.requests} requests each, one kept-alive connection, no credentials")
    for name, values in latencies.items():
        median = statistics.median(values)
        print(f"  {name:<30} {median * 1000:7.2f} ms  ({median / tiny:4.1f}x tiny)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
