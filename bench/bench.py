#!/usr/bin/env python
"""Benchmark of the unleash-pat mock against a bare Starlette JSON route, same machine, same run.

    python bench/bench.py [--duration S] [--connections N] [--rounds N] [--json OUT] [--write]

Requires `wrk` (Debian: `apt-get install wrk`) as the load generator, and `taskset` (util-linux)
to pin it: on a machine with 2+ cores the server runs on CPU 0 and wrk on CPU 1, so the client
never competes with the server for its core. Everything runs on 127.0.0.1 and every process the
script starts is stopped (by its pid) before it exits.

What is measured, each server being a separate uvicorn process with identical settings
(1 worker, uvicorn's "auto" loop and HTTP implementation, log level warning, lifespan off,
exactly as `unleash-pat serve` configures it):

1. GET /api/admin/user/tokens on `unleash-pat serve` with the default fixtures and the default PAT,
   against a bare Starlette app whose one route returns the same JSON body: throughput (req/s),
   latency p50/p90/p99, and the ratio GET-list/bare (target >= 25%).
2. POST (creating PATs) and DELETE (deleting existing PATs) on a mock seeded in memory with
   enough users that no user reaches the limit of 10 PATs: requests rotate over the users.
3. Start-up: spawn of `unleash-pat serve --port P` to the first 200 on GET list (median of runs).
4. GET list latency with 1 seeded user and with 100,000 (one PAT each, random secrets, loaded from
   a YAML file with --fixtures), at one connection (service time, no queueing), plus the
   start-up time of the 100,000-user server.

The mock's per-client rate limit (Unleash's 20,000 PAT requests a minute) is raised with
`--rate-limit-per-minute` for the load phases, otherwise every phase would mostly measure 429s;
the limiter still runs (and is paid for) on every request.

`--write` also writes the results, with the date, machine and commit, to bench/results/bench.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import record
import yaml

HERE = Path(__file__).resolve()
VENV_BIN = Path(sys.executable).parent
# The default fixtures' first PAT: the one `unleash-pat serve` seeds for user 1.
DEFAULT_PAT = yaml.safe_load((HERE.parent.parent / "fixtures" / "default.yaml").read_text())[
    "users"
][0]["pats"][0]["secret"]
LIST_PATH = "/api/admin/user/tokens"
BARE_PATH = "/bare"
EXPIRES = "2099-01-01T00:00:00.000Z"
NO_RATE_LIMIT = "1000000000"
PATS_PER_DELETE_USER = 10  # the first authenticates, the other 9 get deleted


# -- helpers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, headers: dict[str, str], timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Pinning:
    def __init__(self) -> None:
        cores = sorted(os.sched_getaffinity(0))
        self.enabled = len(cores) >= 2 and shutil.which("taskset") is not None
        self.server_core = cores[0]
        self.client_core = cores[1] if len(cores) >= 2 else cores[0]
        self.cores = len(cores)

    def server(self, argv: list[str]) -> list[str]:
        return ["taskset", "-c", str(self.server_core), *argv] if self.enabled else argv

    def client(self, argv: list[str]) -> list[str]:
        return ["taskset", "-c", str(self.client_core), *argv] if self.enabled else argv

    def describe(self) -> str:
        if not self.enabled:
            return f"{self.cores} core(s), no pinning (taskset missing or 1 core)"
        return (
            f"{self.cores} cores; server pinned to CPU {self.server_core}, "
            f"wrk (1 thread) pinned to CPU {self.client_core}"
        )


class Server:
    """A server subprocess; stopped by its pid (SIGTERM, then SIGKILL)."""

    def __init__(self, argv: list[str], port: int, probe_path: str, probe_headers: dict) -> None:
        self.port = port
        self.probe = (probe_path, probe_headers)
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )

    def wait_ready(self, timeout: float) -> float:
        """Seconds from spawn to the first 200 on the probe path."""
        deadline = self.spawned_at + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err[-2000:]}")
            try:
                if http_get(self.port, *self.probe, timeout=1.0) == 200:
                    return time.perf_counter() - self.spawned_at
            except OSError:
                pass
            time.sleep(0.002)
        self.stop()
        raise RuntimeError(f"server on port {self.port} not ready after {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def unleash_pat_cmd(port: int, *extra: str) -> list[str]:
    exe = VENV_BIN / "unleash-pat"
    if not exe.exists():
        exe = Path(shutil.which("unleash-pat") or "unleash-pat")
    return [str(exe), "serve", "--port", str(port), *extra]


# -- wrk ---------------------------------------------------------------------------------------
LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"non2xx3xx":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""


def lua_get(token: str | None) -> str:
    header = f'wrk.headers["Authorization"] = "{token}"\n' if token else ""
    return header + LUA_DONE


def lua_post(tokens: list[str]) -> str:
    table = ",".join(f'"{t}"' for t in tokens)
    return (
        f"tokens = {{{table}}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local t = tokens[((n - 1) % #tokens) + 1]\n"
        f'  local body = \'{{"description":"b\' .. n .. \'","expiresAt":"{EXPIRES}"}}\'\n'
        f'  return wrk.format("POST", "{LIST_PATH}", '
        '{["Authorization"] = t, ["Content-Type"] = "application/json"}, body)\n'
        "end\n" + LUA_DONE
    )


def lua_delete(tokens: list[str], first_ids: list[int]) -> str:
    """Request n deletes PAT number 1 + (n-1)//U of user (n-1)%U (PAT 0 authenticates)."""
    tt = ",".join(f'"{t}"' for t in tokens)
    ii = ",".join(str(i) for i in first_ids)
    return (
        f"tokens = {{{tt}}}\nfirst = {{{ii}}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  local u = (n % #tokens) + 1\n"
        "  local r = math.floor(n / #tokens) + 1\n"
        "  n = n + 1\n"
        f'  return wrk.format("DELETE", "{LIST_PATH}/" .. (first[u] + r), '
        '{["Authorization"] = tokens[u]})\n'
        "end\n" + LUA_DONE
    )


def run_wrk(
    pin: Pinning,
    server: Server,
    path: str,
    script: str,
    duration: float,
    connections: int,
    workdir: Path,
    name: str,
) -> dict:
    lua = workdir / f"{name}.lua"
    lua.write_text(script)
    argv = pin.client(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            f"http://127.0.0.1:{server.port}{path}",
        ]
    )
    cpu0 = cpu_seconds(server.proc.pid)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=max(1, round(duration)) + 60)
    finally:
        if proc.poll() is None:  # interrupted or timed out: stop wrk by its pid
            proc.kill()
            proc.wait()
    wall = time.perf_counter() - started
    cpu1 = cpu_seconds(server.proc.pid)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, just reaped
    client_cpu = (children1.ru_utime + children1.ru_stime) - (
        children0.ru_utime + children0.ru_stime
    )
    line = next((ln for ln in out.decode().splitlines() if ln.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode()} {out.decode()}")
    r = json.loads(line.removeprefix("BENCHJSON "))
    seconds = r["duration_us"] / 1e6
    return {
        "requests": r["requests"],
        "seconds": round(seconds, 3),
        "rps": round(r["requests"] / seconds, 1),
        "p50_ms": r["p50"] / 1000,
        "p90_ms": r["p90"] / 1000,
        "p99_ms": r["p99"] / 1000,
        "mean_ms": round(r["mean"] / 1000, 3),
        "errors": {k: r[k] for k in ("non2xx3xx", "connect", "read", "write", "timeout")},
        "connections": connections,
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / wall, 1),
        "client_cpu_pct": round(100 * client_cpu / wall, 1),
    }


# -- the servers the script launches itself ---------------------------------------------------
def serve_bare(port: int, body: str) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from mock_server.node.serving import run_server

    content = json.loads(body)

    async def route(request):
        return JSONResponse(content)

    app = Starlette(routes=[Route(BARE_PATH, route, methods=["GET"])])
    run_server(app, "127.0.0.1", port)  # served exactly as the mock is


def serve_seeded(port: int, plan_path: str) -> None:
    """The mock seeded in memory (Fixtures built directly, no YAML) from a plan file."""
    from mock_server import Options, create_app
    from mock_server.fixtures import Fixtures, SeedPat
    from mock_server.instants import parse_date_time
    from mock_server.node.serving import run_server
    from mock_server.units.accounts.models import User

    plan = json.loads(Path(plan_path).read_text())
    expires = parse_date_time(EXPIRES)
    users = tuple(
        (
            User(u["id"], u["username"]),
            tuple(SeedPat(f"p{j}", s, expires) for j, s in enumerate(u["secrets"])),
        )
        for u in plan["users"]
    )
    app = create_app(Fixtures(users, ()), options=Options(rate_limit_per_minute=int(NO_RATE_LIMIT)))
    run_server(app, "127.0.0.1", port)  # as `unleash-pat serve` runs it


def secret() -> str:
    return "user:" + secrets.token_hex(28)


def write_users(path: Path, count: int, fmt: str = "yaml") -> str:
    """count users with one PAT each (random secrets); returns the secret of the first.
    `json` writes the same data as JSON, which is YAML too (a loader may read it faster)."""
    secrets_ = [secret() for _ in range(count)]
    if fmt == "json":
        users = [
            {
                "id": i,
                "username": f"u{i}",
                "pats": [{"description": "d", "secret": s, "expiresAt": EXPIRES}],
            }
            for i, s in enumerate(secrets_, 1)
        ]
        path.write_text(json.dumps({"users": users}))
        return secrets_[0]
    with path.open("w") as f:
        f.write("users:\n")
        for i, s in enumerate(secrets_, 1):
            f.write(
                f"  - id: {i}\n    username: u{i}\n    pats:\n"
                f'      - description: d\n        secret: "{s}"\n        expiresAt: "{EXPIRES}"\n'
            )
    return secrets_[0]


# -- the benchmark -----------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per load phase (8)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (2)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternating GET-list/bare rounds, best counts (1)"
    )
    parser.add_argument("--startup-runs", type=int, default=5, help="start-up samples (5)")
    parser.add_argument("--large-users", type=int, default=100_000, help="users (100000)")
    parser.add_argument(
        "--latency-duration", type=int, default=5, help="seconds per 1-connection latency phase (5)"
    )
    parser.add_argument(
        "--large-format",
        choices=["yaml", "json"],
        default="yaml",
        help="format of the generated fixture files (yaml, the documented form; json is YAML too)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--write", action="store_true", help="also write bench/results/bench.md")
    parser.add_argument("--_serve-bare", nargs=2, metavar=("PORT", "BODY"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--_serve-seeded", nargs=2, metavar=("PORT", "PLAN"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args._serve_bare:
        serve_bare(int(args._serve_bare[0]), args._serve_bare[1])
        return 0
    if args._serve_seeded:
        serve_seeded(int(args._serve_seeded[0]), args._serve_seeded[1])
        return 0

    if shutil.which("wrk") is None:
        print("bench.py needs wrk as its load generator: apt-get install wrk", file=sys.stderr)
        return 2
    pin = Pinning()
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    httpimpl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    results: dict = {
        "machine": {
            "cores": pin.cores,
            "pinning": pin.describe(),
            "cpu": _cpu_model(),
            "python": sys.version.split()[0],
            "loop": loop,
            "http": httpimpl,
            "load_generator": f"wrk {wrk_version}, 1 thread, {args.connections} connections",
        },
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "warmup_s": args.warmup,
        },
    }
    servers: list[Server] = []
    started = time.perf_counter()
    load_before = _loadavg()
    auth = {"Authorization": DEFAULT_PAT}

    def start(argv: list[str], port: int, path: str, headers: dict, timeout: float = 30) -> Server:
        server = Server(pin.server(argv), port, path, headers)
        servers.append(server)
        server.ready_s = server.wait_ready(timeout)
        return server

    def load(
        server: Server,
        path: str,
        script: str,
        name: str,
        conns: int | None = None,
        duration: float | None = None,
        warm: bool = True,
    ) -> dict:
        if warm and args.warmup > 0:
            run_wrk(
                pin,
                server,
                path,
                script,
                args.warmup,
                conns or args.connections,
                work,
                name + "-warmup",
            )
        r = run_wrk(
            pin,
            server,
            path,
            script,
            duration or args.duration,
            conns or args.connections,
            work,
            name,
        )
        print(f"  {name:<24} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:.2f} ms", flush=True)
        return r

    with tempfile.TemporaryDirectory(prefix="unleash-pat-bench-") as tmp:
        work = Path(tmp)
        try:
            # 1. GET list on `unleash-pat serve` (default fixtures), and the bare route.
            print("load phases (wrk):", flush=True)
            port = free_port()
            mock = start(
                unleash_pat_cmd(port, "--rate-limit-per-minute", NO_RATE_LIMIT),
                port,
                LIST_PATH,
                auth,
            )
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", LIST_PATH, headers=auth)
            body = conn.getresponse().read().decode()
            conn.close()
            port = free_port()
            bare = start(
                [sys.executable, str(HERE), "--_serve-bare", str(port), body], port, BARE_PATH, {}
            )
            # Both servers stay up (an idle one costs nothing); with --rounds > 1 the phases
            # alternate and the best round of each counts, which damps noise from other load.
            gets, bares = [], []
            for _ in range(args.rounds):
                gets.append(load(mock, LIST_PATH, lua_get(DEFAULT_PAT), "GET list"))
                bares.append(load(bare, BARE_PATH, lua_get(None), "bare Starlette GET"))
            get = max(gets, key=lambda r: r["rps"])
            bare_r = max(bares, key=lambda r: r["rps"])
            if args.rounds > 1:
                get["rounds_rps"] = [r["rps"] for r in gets]
                bare_r["rounds_rps"] = [r["rps"] for r in bares]
            mock.stop()
            bare.stop()

            # 2. POST and DELETE on a mock seeded in memory with enough users.
            capacity = int(max(get["rps"], 1000) * args.duration * 2) + 1000
            post_users = capacity // 9 + 1
            del_users = capacity // 9 + 1
            users, post_tokens, del_tokens, first_ids = [], [], [], []
            next_pat_id = 1
            for i in range(post_users):
                s = secret()
                users.append({"id": i + 1, "username": f"post{i}", "secrets": [s]})
                post_tokens.append(s)
                next_pat_id += 1
            for i in range(del_users):
                ss = [secret() for _ in range(PATS_PER_DELETE_USER)]
                users.append({"id": post_users + i + 1, "username": f"del{i}", "secrets": ss})
                del_tokens.append(ss[0])
                first_ids.append(next_pat_id)
                next_pat_id += PATS_PER_DELETE_USER
            plan = work / "plan.json"
            plan.write_text(json.dumps({"users": users}))
            port = free_port()
            seeded = start(
                [sys.executable, str(HERE), "--_serve-seeded", str(port), str(plan)],
                port,
                LIST_PATH,
                {"Authorization": del_tokens[0]},
                timeout=120,
            )
            # the PAT ids the DELETE phase will use must be the ones the store gave out
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", LIST_PATH, headers={"Authorization": del_tokens[-1]})
            ids = sorted(p["id"] for p in json.loads(c.getresponse().read())["pats"])
            c.close()
            assert ids == list(range(first_ids[-1], first_ids[-1] + PATS_PER_DELETE_USER)), ids
            run_wrk(
                pin,
                seeded,
                LIST_PATH,
                lua_get(del_tokens[0]),
                args.warmup,
                args.connections,
                work,
                "seeded-warmup",
            )
            post = load(seeded, LIST_PATH, lua_post(post_tokens), "POST create", warm=False)
            delete = load(
                seeded, LIST_PATH, lua_delete(del_tokens, first_ids), "DELETE", warm=False
            )
            for phase, r, cap in (
                ("POST", post, 9 * post_users),
                ("DELETE", delete, 9 * del_users),
            ):
                r["seeded_users"] = cap // 9
                if r["requests"] > cap:
                    print(f"  warning: {phase} ran past its {cap} fresh PATs", file=sys.stderr)
                    r["warning"] = f"ran past {cap} fresh PATs"
            seeded.stop()
            results["load"] = {
                "get_list": get,
                "bare_starlette": bare_r,
                "post_create": post,
                "delete": delete,
            }
            results["ratio_get_list_to_bare"] = round(get["rps"] / bare_r["rps"], 4)

            # 3. Start-up of `unleash-pat serve` to the first 200 on GET list.
            print("start-up:", flush=True)
            samples = []
            for _ in range(args.startup_runs):
                port = free_port()
                s = start(unleash_pat_cmd(port), port, LIST_PATH, auth)
                samples.append(s.ready_s)
                s.stop()
            results["startup_s"] = {
                "median": round(statistics.median(samples), 3),
                "samples": [round(x, 3) for x in samples],
            }
            print(f"  default fixtures: median {statistics.median(samples):.3f} s", flush=True)

            # 4. GET list latency with 1 and with N users (YAML fixtures, one connection).
            print("users (1 connection):", flush=True)
            scale = {}
            for count in (1, args.large_users):
                yaml_path = work / f"users-{count}.{args.large_format}"
                token = write_users(yaml_path, count, args.large_format)
                port = free_port()
                s = start(
                    unleash_pat_cmd(
                        port, "--fixtures", str(yaml_path), "--rate-limit-per-minute", NO_RATE_LIMIT
                    ),
                    port,
                    LIST_PATH,
                    {"Authorization": token},
                    timeout=600,
                )
                print(f"  {count} users: ready after {s.ready_s:.2f} s", flush=True)
                r = load(
                    s,
                    LIST_PATH,
                    lua_get(token),
                    f"GET list, {count} users",
                    conns=1,
                    duration=args.latency_duration,
                )
                r["startup_s"] = round(s.ready_s, 3)
                r["fixture_bytes"] = yaml_path.stat().st_size
                r["fixture_format"] = args.large_format
                scale[str(count)] = r
                s.stop()
            results["users"] = scale
        finally:
            for s in servers:
                s.stop()
    results["total_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["loadavg"] = f"{load_before} / {_loadavg()}"
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nJSON written to {args.json}")
    if args.write:
        record.write("bench", "Benchmark", markdown(results, args.rounds))
    return 0


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def users(count: str) -> str:
    return f"{int(count):,} user" + ("" if int(count) == 1 else "s")


def markdown(r: dict, rounds: int) -> str:
    """The results as bench/results/bench.md shows them."""
    m, settings = r["machine"], r["settings"]
    rows = [
        ("GET list, mock", r["load"]["get_list"]),
        ("POST create, mock", r["load"]["post_create"]),
        ("DELETE, mock", r["load"]["delete"]),
        ("GET, bare Starlette", r["load"]["bare_starlette"]),
    ]
    rows += [(f"GET list, 1 connection, {users(n)} seeded", v) for n, v in r["users"].items()]
    table = "\n".join(
        f"| {name} | {v['rps']:,.0f} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} |" for name, v in rows
    )
    startup = r["startup_s"]
    loads = "\n".join(
        f"- Start-up with {users(n)} ({v['fixture_bytes'] / 1e6:.1f} MB of "
        f"{v['fixture_format'].upper()} fixtures): {v['startup_s']:.2f} s."
        for n, v in r["users"].items()
    )
    return (
        f"{m['pinning']}; uvicorn 1 worker, loop {m['loop']}, http {m['http']}; "
        f"{m['load_generator']}, {settings['duration_s']:g} s a phase after "
        f"{settings['warmup_s']:g} s of warm-up, {rounds} round(s) of GET list and bare "
        f"(the best counts); load average before / after: {m['loadavg']}.\n\n"
        "| phase | req/s | p50 ms | p99 ms |\n|---|---|---|---|\n"
        f"{table}\n\n"
        f"- GET list / bare Starlette: {r['ratio_get_list_to_bare']:.1%} (target: at least 25%).\n"
        f"- Start-up to the first 200, default fixtures: median {startup['median']:.2f} s of "
        f"{startup['samples']} (target: under 1 s).\n"
        f"{loads}\n"
        f"- Total run time: {r['total_s']:.0f} s."
    )


def print_table(r: dict) -> None:
    m = r["machine"]
    print(
        f"\nmachine: {m['cpu']}, {m['pinning']}; Python {m['python']}, "
        f"uvicorn 1 worker, loop {m['loop']}, http {m['http']}"
    )
    print(
        f"load generator: {m['load_generator']}, {r['settings']['duration_s']:g} s per phase "
        f"after {r['settings']['warmup_s']:g} s warm-up\n"
    )
    head = (
        f"{'phase':<32}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'srv CPU':>9}{'wrk CPU':>9}"
    )
    print(head)
    print("-" * len(head))
    rows = [
        ("GET list (mock)", r["load"]["get_list"]),
        ("POST create (mock)", r["load"]["post_create"]),
        ("DELETE (mock)", r["load"]["delete"]),
        ("GET bare Starlette", r["load"]["bare_starlette"]),
    ]
    rows += [(f"GET list, {n} users, 1 conn", v) for n, v in r["users"].items()]
    for name, v in rows:
        errors = sum(v["errors"].values())
        print(
            f"{name:<32}{v['rps']:>9.0f}{v['p50_ms']:>9.2f}{v['p90_ms']:>9.2f}"
            f"{v['p99_ms']:>9.2f}{errors:>8}{v['server_cpu_pct']:>8.0f}%"
            f"{v['client_cpu_pct']:>8.0f}%"
        )
    busy = [name for name, v in rows[:4] if v["server_cpu_pct"] < 90]
    if busy:
        print(
            f"WARNING: the server used < 90% of its core in {', '.join(busy)}: other processes "
            f"competed for it (load average before/after: {r['machine']['loadavg']}); "
            "rerun on a quiet machine (or use --rounds 3 for GET list/bare)"
        )
    ratio = r["ratio_get_list_to_bare"]
    verdict = "meets" if ratio >= 0.25 else "misses"
    print(f"\nGET list / bare Starlette: {ratio:.1%} ({verdict} the 25% target)")
    st = r["startup_s"]
    verdict = "meets" if st["median"] < 1 else "misses"
    print(
        f"start-up to first 200 (default fixtures): median {st['median']:.3f} s of "
        f"{st['samples']} ({verdict} the 1 s target)"
    )
    for n, v in r["users"].items():
        print(
            f"start-up with {n} users ({v['fixture_bytes'] / 1e6:.1f} MB "
            f"{v['fixture_format'].upper()}): "
            f"{v['startup_s']:.2f} s"
        )
    small, large = list(r["users"].values())
    print(
        f"GET list p50 at 1 connection: {small['p50_ms']:.2f} ms (1 user) vs "
        f"{large['p50_ms']:.2f} ms ({list(r['users'])[1]} users)"
    )
    print(f"total run time: {r['total_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
