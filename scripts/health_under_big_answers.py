#!/usr/bin/env python
"""How `/health` answers while clients fetch a big, gzip'd PAT list from `unleash-pat serve`.

    python scripts/health_under_big_answers.py [--clients 4] [--seconds 10]

Creates nine PATs with 99 kB descriptions of random text (an 892 kB list; random text
compresses as slowly as prose), then for --seconds has --clients threads GET the list with
`Accept-Encoding: gzip` over and over (reading the answer without decoding it) while this
thread asks `/health` every 10 ms on a fresh connection. Prints the /health latencies
(median, p99, max) and the lists fetched per second.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import string
import sys
import threading
import time

import yaml
from _served import ROOT, read_response, serve

TOKENS = "/api/admin/user/tokens"


def admin_pat() -> str:
    fixtures = yaml.safe_load((ROOT / "fixtures" / "default.yaml").read_text())
    return fixtures["users"][0]["pats"][0]["secret"]


def create(port: int, pat: str, description: str) -> None:
    body = json.dumps({"description": description, "expiresAt": "2099-01-01T00:00:00Z"})
    request = (
        f"POST {TOKENS} HTTP/1.1\r\nHost: m\r\nAuthorization: {pat}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        status, _, _ = read_response(sock, bytearray())
    assert status == 201, status


def fetch(port: int, pat: str) -> None:
    request = (
        f"GET {TOKENS} HTTP/1.1\r\nHost: m\r\nAuthorization: {pat}\r\n"
        "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        while sock.recv(1 << 16):
            pass


def health(port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        status, _, _ = read_response(sock, bytearray())
    assert status == 200
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    pat = admin_pat()
    rng = random.Random(1)
    alphabet = string.ascii_letters + string.digits + " "
    with serve() as (_, port):
        for n in range(9):
            create(port, pat, f"{n} " + "".join(rng.choices(alphabet, k=99_000)))
        quiet = [health(port) for _ in range(50)]
        stop = time.monotonic() + args.seconds
        fetched = [0] * args.clients

        def client(index: int) -> None:
            while time.monotonic() < stop:
                fetch(port, pat)
                fetched[index] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        latencies = []
        while time.monotonic() < stop:
            latencies.append(health(port))
            time.sleep(0.01)
        for thread in threads:
            thread.join()
    latencies.sort()
    print(f"/health alone: median {statistics.median(quiet) * 1000:.1f} ms")
    print(
        f"/health while {args.clients} clients fetch the 892 kB list gzip'd: "
        f"median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms ({len(latencies)} probes); "
        f"{sum(fetched) / args.seconds:.1f} lists/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
