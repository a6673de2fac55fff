"""What the measurement scripts share: `unleash-pat serve` in a child process, stopped by its
pid; its resident memory; one keep-alive HTTP/1.1 exchange over a raw socket."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def serve(*args: str) -> Iterator[tuple[int, int]]:
    """`unleash-pat serve --port 0 ARGS` on 127.0.0.1; yields (pid, port) once it listens."""
    cmd = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", *args]
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        banner = child.stdout.readline()  # printed once the socket listens
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        if found is None:
            raise RuntimeError(f"unleash-pat serve did not start: {banner!r}")
        yield child.pid, int(found.group(1))
    finally:
        os.kill(child.pid, signal.SIGTERM)
        child.wait(30)
        if child.stdout is not None:
            child.stdout.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bytes, bytes]:
    """One Content-Length-framed response from `sock` (`buffer` keeps what follows it):
    its status, head and body."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response")
        body += chunk
    buffer[:] = body[length:]
    return int(head.split(b" ", 2)[1]), head, bytes(body[:length])
