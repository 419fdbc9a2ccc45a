"""`commune sync` on a terminal shows its progress: entries received of those expected, and the rate."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nodekit import ENV, Served, commune, free_port


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` (a pseudo-terminal) is not installed")
def test_sync_on_a_terminal_shows_progress(tmp_path: Path) -> None:
    ana, ben = tmp_path / "ana", tmp_path / "ben"
    commune("found", "--name", "Progress", "--as", "Ana", "-d", str(ana))
    server = Served(ana, free_port())
    try:
        commune("join", commune("invite", "-d", str(ana)).stdout.strip(), "--name", "Ben", "-d", str(ben))
        for _ in range(3):
            commune("deposit", "10", "-d", str(ana))
        line = shlex.join([sys.executable, "-m", "commune", "sync", server.peer, "-d", str(ben)])
        shown = subprocess.run(
            ["script", "-qec", line, "/dev/null"], capture_output=True, text=True, env=ENV, timeout=60
        )
    finally:
        server.stop()
    assert shown.returncode == 0, shown.stdout
    assert "entries" in shown.stdout and "3/3" in shown.stdout and "/s" in shown.stdout  # the bar, drawn
    assert "synced with" in shown.stdout and "3 entries" in shown.stdout
