"""The `commune` command as a person runs it: a real subprocess, real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from commune.cli.main import EXIT_USER_ERROR, KEY_FILE


def commune(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "commune", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_key_new_then_show(tmp_path: Path) -> None:
    made = commune("key", "new", str(tmp_path / "node"))
    assert made.returncode == 0, made.stderr
    public = made.stdout.split("public key: ")[1].split()[0]
    shown = commune("key", "show", str(tmp_path / "node"))
    assert shown.returncode == 0 and shown.stdout.strip() == public
    assert stat.S_IMODE((tmp_path / "node" / KEY_FILE).stat().st_mode) == 0o600


def test_key_new_never_replaces_a_key(tmp_path: Path) -> None:
    assert commune("key", "new", str(tmp_path)).returncode == 0
    before = (tmp_path / KEY_FILE).read_bytes()
    again = commune("key", "new", str(tmp_path))
    assert again.returncode == EXIT_USER_ERROR
    assert "already exists" in again.stderr and str(tmp_path / KEY_FILE) in again.stderr
    assert "Traceback" not in again.stderr
    assert (tmp_path / KEY_FILE).read_bytes() == before


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p: p.unlink(), "is missing"),
        (lambda p: p.write_text("commune-secret-key v1\nseed zz\n"), "is corrupt"),
        (lambda p: p.chmod(0o644), "chmod 600"),
    ],
)
def test_key_show_says_what_is_wrong_with_the_file(tmp_path: Path, damage, words: str) -> None:
    assert commune("key", "new", str(tmp_path)).returncode == 0
    damage(tmp_path / KEY_FILE)
    shown = commune("key", "show", str(tmp_path))
    assert shown.returncode == EXIT_USER_ERROR
    assert words in shown.stderr and str(tmp_path / KEY_FILE) in shown.stderr
    assert "Traceback" not in shown.stderr


def test_version_and_help() -> None:
    assert commune("--version").stdout.startswith("commune ")
    helped = commune("--help")
    assert helped.returncode == 0 and "demo" in helped.stdout and "key" in helped.stdout


def test_readme_opens_with_the_two_commands() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    top = readme[:400]
    assert "make demo" in top and "make test" in top
