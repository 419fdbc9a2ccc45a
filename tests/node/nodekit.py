"""Running `commune` as a person would: real processes, real data directories, loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def commune(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "commune", *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"commune {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def as_json(*args: str) -> object:
    return json.loads(commune(*args, "--json").stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come true within {timeout} s")
        time.sleep(0.1)


class Served:
    """`commune serve` for one data directory, stopped (by its PID) when the test ends."""

    def __init__(self, directory: Path, port: int, *extra: str) -> None:
        self.directory = directory
        self.port = port
        self.log = open(directory.parent / f"{directory.name}-serve.log", "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "commune",
                "serve",
                "-d",
                str(directory),
                "--listen",
                f"127.0.0.1:{port}",
                "--block-interval",
                "0.2",
                "--anti-entropy",
                "1",
                "-v",
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
        wait_for(lambda: (directory / "serving.json").exists() or self.proc.poll() is not None, what="serve to start")
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.read_log()}")

    @property
    def key(self) -> str:
        return json.loads((self.directory / "serving.json").read_text())["key"]

    @property
    def peer(self) -> str:
        return f"{self.key}@127.0.0.1:{self.port}"

    def read_log(self) -> str:
        self.log.flush()
        return (self.directory.parent / f"{self.directory.name}-serve.log").read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
