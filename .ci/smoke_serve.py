"""`python3 .ci/smoke_serve.py COMMAND...`: COMMAND (any way of running `unleash-pat`, such as the
zipapp) serves the mock: the banner names the URL and the default PAT, which lists its token,
and SIGTERM stops it with status 0. Standard library only: it runs outside any venv."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def main(command: list[str]) -> int:
    process = subprocess.Popen(
        [*command, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        banner = [process.stdout.readline() for _ in range(2)]
        url = re.search(r"http://\S+", banner[0]).group(0)
        pat = re.search(r"PAT (user:\w+)", banner[1]).group(1)
        request = urllib.request.Request(
            f"{url}/api/admin/user/tokens", headers={"Authorization": pat}
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    pats = json.load(response)["pats"]
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert [p["description"] for p in pats] == ["default"], pats
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=15)
        print(f"smoke ok: {' '.join(command)} served {url} and stopped with status {status}")
        return status
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
