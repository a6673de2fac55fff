#!/usr/bin/env python
"""Successful logins from ever new addresses against `unleash-pat serve`: does the mock's
memory stay flat? (On 5.x, which caps no user's sessions, every login used to keep its
session for good.)

    python scripts/login_soak.py [--logins 100000] [--unleash-version 5.12.8]

Logs in as the fixtures' admin over one kept-alive connection, each time from a new
X-Forwarded-For (so that the login rate limit, per address, never refuses one), samples the
server's RSS from /proc, and prints RSS at the start, at its peak and at the end.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from _served import read_response, rss_mb, serve

BODY = b'{"username":"admin","password":"unleash4all"}'


def login(address: str) -> bytes:
    return (
        b"POST /auth/simple/login HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
        + f"X-Forwarded-For: {address}\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=100_000)
    parser.add_argument("--unleash-version", default="5.12.8")
    args = parser.parse_args()
    with (
        serve("--unleash-version", args.unleash_version) as (pid, port),
        socket.create_connection(("127.0.0.1", port)) as sock,
    ):
        buffer = bytearray()
        for n in range(100):  # warm-up: the first requests build connexion's machinery
            sock.sendall(login(f"192.0.2.{n}"))
            read_response(sock, buffer)
        start = peak = rss_mb(pid)
        print(f"RSS at start: {start:.1f} MB")
        statuses: dict[int, int] = {}
        began = time.monotonic()
        for n in range(args.logins):
            sock.sendall(login(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"))
            status, _, _ = read_response(sock, buffer)
            statuses[status] = statuses.get(status, 0) + 1
            if n % 10_000 == 9_999:
                rss = rss_mb(pid)
                peak = max(peak, rss)
                print(f"  {n + 1:>7} logins: RSS {rss:.1f} MB", flush=True)
        seconds = time.monotonic() - began
        end = rss_mb(pid)
    counted = dict(sorted(statuses.items()))
    print(
        f"{args.logins} logins on {args.unleash_version}, each from a new X-Forwarded-For, in "
        f"{seconds:.0f} s ({args.logins / seconds:,.0f}/s); statuses {counted}"
    )
    print(f"RSS at start {start:.1f} MB, peak {peak:.1f} MB, at end {end:.1f} MB", end=" ")
    print(f"({end - start:+.1f} MB)")
    return 0 if statuses == {200: args.logins} and end - start <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
