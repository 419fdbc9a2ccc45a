"""`commune serve --discover` on a real LAN (three network namespaces on a bridge): two members
who were each told only the founder's address find each other by zeroconf and link up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import netlab
import pytest

REASON = netlab.netns_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"`ip netns` is not permitted here: {REASON}")
COMMUNE = [sys.executable, "-m", "commune"]
ENV = {k: v for k, v in {**os.environ, "NO_COLOR": "1", "COLUMNS": "1000"}.items() if k != "COMMUNE_DIR"}


def run(lan: netlab.Lan, host: int, *args: str) -> str:
    result = lan.run(host, [*COMMUNE, *args], capture_output=True, text=True, env=ENV, timeout=60)
    assert result.returncode == 0, f"commune {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_members_find_each_other_on_the_lan(tmp_path: Path) -> None:
    dirs = [tmp_path / name for name in ("ana", "ben", "cem")]
    servers: list[subprocess.Popen] = []
    with netlab.Lan(3) as lan:
        try:

            def serve(i: int) -> None:
                address = f"{lan.address(i)}:7722"
                log = open(tmp_path / f"serve{i}.log", "w")
                servers.append(
                    lan.popen(
                        i,
                        [
                            *COMMUNE,
                            "serve",
                            "-d",
                            str(dirs[i]),
                            "--listen",
                            address,
                            "--discover",
                            lan.address(i),
                            "--block-interval",
                            "0.3",
                            "--anti-entropy",
                            "1",
                            "-v",
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=ENV,
                    )
                )
                wait_for(lambda: (dirs[i] / "serving.json").exists(), f"node {i} to serve")

            run(lan, 0, "found", "--name", "Lan Commune", "--as", "Ana", "--enterprise", "Bakery", "-d", str(dirs[0]))
            serve(0)
            for i, name in ((1, "Ben"), (2, "Cem")):
                token = run(lan, 0, "invite", "-d", str(dirs[0]), "--address", f"{lan.address(0)}:7722").strip()
                run(lan, i, "join", token, "--name", name, "-d", str(dirs[i]))
                run(lan, 0, "enterprise", "attest", name, "--enterprise", "Bakery", "-d", str(dirs[0]))
                serve(i)  # told only Ana's address (by the invitation)
                wait_for(
                    lambda i=i: (
                        lan.run(i, [*COMMUNE, "accept", "-d", str(dirs[i])], env=ENV, capture_output=True).returncode
                        == 0
                    ),
                    f"{name} to accept",
                )

            def status(i: int) -> dict:
                return json.loads(run(lan, i, "status", "-d", str(dirs[i]), "--json"))

            wait_for(lambda: status(1)["member"] and status(2)["member"], "both admissions")
            keys = [status(i)["key"] for i in range(3)]

            def knows(i: int, j: int) -> bool:
                peers = {p["key"]: p["addresses"] for p in json.loads((dirs[i] / "peers.json").read_text())}
                return f"{lan.address(j)}:7722" in peers.get(keys[j], [])

            # Ben and Cem were never given each other's address, and neither advertised one in a
            # profile: zeroconf on their LAN interface told them.
            wait_for(lambda: knows(1, 2) and knows(2, 1), "Ben and Cem to find each other")
            wait_for(lambda: keys[2] in status(1)["linked"], "Ben's node to link to Cem's")
            wait_for(lambda: len({status(i)["digest"] for i in range(3)}) == 1, "the same digest everywhere")
        finally:
            for proc in servers:
                proc.send_signal(signal.SIGTERM)
            codes = []
            for proc in servers:
                try:
                    codes.append(proc.wait(15))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    codes.append(proc.wait())
    assert codes == [0, 0, 0]
