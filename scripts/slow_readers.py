#!/usr/bin/env python
"""Clients that pipeline big GETs and never read the answers, against `unleash-pat serve` with
its default limits: are they dropped, and does the mock's memory come back?

    python scripts/slow_readers.py [--connections 150] [--pipelined 20] [--watch 120]

Creates nine PATs with 99 kB descriptions of random text (an 892 kB list), opens
--connections connections with a tiny receive window, sends --pipelined gzip'd GETs of the
list on each, and reads nothing. Then, for --watch seconds, samples the server's RSS and how
many of those connections are still open (the server resets one it drops). Prints RSS at the
start, at its peak and at the end, and when the last connection was dropped.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import string
import sys
import time

import yaml
from _served import ROOT, read_response, rss_mb, serve

TOKENS = "/api/admin/user/tokens"


def admin_pat() -> str:
    fixtures = yaml.safe_load((ROOT / "fixtures" / "default.yaml").read_text())
    return fixtures["users"][0]["pats"][0]["secret"]


def exchange(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        status, _, _ = read_response(sock, bytearray())
    return status


def still_open(sock: socket.socket) -> bool:
    """Whether the server has not ended this connection: its TCP state (Linux's TCP_INFO, whose
    first byte is the state) is still ESTABLISHED, whatever is left unread."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _ESTABLISHED


_ESTABLISHED = 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=150)
    parser.add_argument("--pipelined", type=int, default=20)
    parser.add_argument("--watch", type=float, default=120, help="seconds, each round")
    parser.add_argument("--rounds", type=int, default=1, help="one server, rounds in turn")
    args = parser.parse_args()
    pat = admin_pat()
    rng = random.Random(1)
    alphabet = string.ascii_letters + string.digits + " "
    get = (
        f"GET {TOKENS} HTTP/1.1\r\nHost: m\r\nAuthorization: {pat}\r\nAccept-Encoding: gzip\r\n\r\n"
    ).encode()
    with serve() as (pid, port):
        for n in range(9):
            body = json.dumps(
                {
                    "description": f"{n} " + "".join(rng.choices(alphabet, k=99_000)),
                    "expiresAt": "2099-01-01T00:00:00Z",
                }
            )
            status = exchange(
                port,
                (
                    f"POST {TOKENS} HTTP/1.1\r\nHost: m\r\nAuthorization: {pat}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n{body}"
                ).encode(),
            )
            assert status == 201, status
        with socket.create_connection(("127.0.0.1", port)) as sock:  # warm-up: one list answered
            sock.sendall(get.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            while sock.recv(1 << 16):
                pass
        time.sleep(1)
        start = rss_mb(pid)
        print(f"RSS at start: {start:.1f} MB")
        for round_ in range(1, args.rounds + 1):
            watch(pid, port, get, args, round_, start)
    return 0


def watch(
    pid: int, port: int, get: bytes, args: argparse.Namespace, round_: int, start: float
) -> None:
    sockets = []
    for _ in range(args.connections):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(get * args.pipelined)
        sockets.append(sock)
    began = time.monotonic()
    peak, last_open, all_dropped_at = start, len(sockets), None
    try:
        while (elapsed := time.monotonic() - began) < args.watch:
            rss = rss_mb(pid)
            peak = max(peak, rss)
            open_now = sum(still_open(sock) for sock in sockets)
            if open_now == 0 and all_dropped_at is None:
                all_dropped_at = elapsed
            if open_now != last_open or int(elapsed) % 15 == 0:
                print(f"  {elapsed:5.0f} s: RSS {rss:6.1f} MB, {open_now} connections open")
                last_open = open_now
            time.sleep(1)
        end = rss_mb(pid)
    finally:
        for sock in sockets:
            sock.close()
    dropped = (
        f"all dropped by {all_dropped_at:.0f} s"
        if all_dropped_at is not None
        else f"{last_open} still open"
    )
    print(
        f"round {round_}: {args.connections} connections x {args.pipelined} pipelined gzip'd "
        f"GETs of the 892 kB list, none read: RSS at start {start:.1f} MB, peak {peak:.1f} MB, "
        f"after {args.watch:.0f} s {end:.1f} MB (+{end - start:.1f} MB); {dropped}"
    )


if __name__ == "__main__":
    sys.exit(main())
