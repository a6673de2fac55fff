#!/usr/bin/env python
"""Soak of the mock under hostile traffic: its resident memory (RSS) over many requests that
each bring a new client address, an oversized or malformed head, or a bad cookie.

    python bench/hostile_soak.py [--requests 100000] [--xff-bytes 8000] [--write]

`unleash-pat serve` runs in a child process on 127.0.0.1; this script sends the requests over a
few kept-alive connections, samples the child's RSS from /proc along the way, then stops the
child by its pid. The figure that matters: RSS at the end against RSS at the start (the
per-client rate-limit tables are bounded, so it must stay within a few MB). `--write` also
writes the figures, with the date, machine and commit, to bench/results/hostile-soak.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import record

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def read_response(sock: socket.socket, buffer: bytearray) -> int:
    """Read one response (Content-Length framed, or a bare answer that closes); its status."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    buffer[:] = rest[length:]
    return int(head.split(b" ", 2)[1])


def login(xff: str) -> bytes:
    body = b'{"username":"admin","password":"wrong"}'
    return (
        b"POST /auth/simple/login HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
        + f"X-Forwarded-For: {xff}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--xff-bytes", type=int, default=8_000)
    parser.add_argument(
        "--write", action="store_true", help="also write bench/results/hostile-soak.md"
    )
    args = parser.parse_args()
    port = free_port()
    cmd = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port)]
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        buffer = bytearray()
        sock.sendall(login("warm-up"))
        read_response(sock, buffer)
        start = rss_mb(child.pid)
        print(f"RSS at start: {start:.1f} MB")
        statuses: dict[int, int] = {}
        started = time.monotonic()
        peak = start
        for n in range(args.requests):
            # A new client address each time, of --xff-bytes characters.
            xff = f"10.{n % 250}.{n // 250 % 250}.{n % 7}-" + secrets.token_hex(args.xff_bytes // 2)
            sock.sendall(login(xff[: args.xff_bytes]))
            status = read_response(sock, buffer)
            statuses[status] = statuses.get(status, 0) + 1
            if n % 10_000 == 9_999:
                peak = max(peak, rss_mb(child.pid))
                print(f"  {n + 1:>7} requests: RSS {rss_mb(child.pid):.1f} MB", flush=True)
        sock.close()
        seconds = time.monotonic() - started
        end = rss_mb(child.pid)
        peak = max(peak, end)
        print(
            f"{args.requests} logins, each from a new X-Forwarded-For of {args.xff_bytes} "
            f"bytes, in {seconds:.1f} s ({args.requests / seconds:,.0f} req/s); statuses "
            f"{dict(sorted(statuses.items()))}"
        )
        print(
            f"RSS at start {start:.1f} MB, peak {peak:.1f} MB, at end {end:.1f} MB "
            f"(+{end - start:.1f} MB)"
        )
        if args.write:
            record.write(
                "hostile-soak",
                "Memory under hostile traffic",
                f"`unleash-pat serve` answering {args.requests:,} failed logins, each from a new\n"
                f"`X-Forwarded-For` of {args.xff_bytes:,} bytes (a new client address for the\n"
                "rate-limit and login tables), over kept-alive connections.\n\n"
                "| | |\n|---|---|\n"
                f"| RSS at start | {start:.1f} MB |\n"
                f"| RSS at end | {end:.1f} MB ({end - start:+.1f} MB) |\n"
                f"| RSS peak | {peak:.1f} MB |\n"
                f"| time | {seconds:.1f} s ({args.requests / seconds:,.0f} req/s) |\n"
                f"| statuses | {dict(sorted(statuses.items()))} |",
            )
        return 0 if end - start <= 20 else 1
    finally:
        os.kill(child.pid, signal.SIGTERM)
        child.wait(10)


if __name__ == "__main__":
    sys.exit(main())
