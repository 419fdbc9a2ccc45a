"""A node's secret key on disk: one small text file, mode 0600, never silently replaced.

Format (three lines, ASCII):

    commune-secret-key v1
    seed <64 hex digits>
    public <64 hex digits>

The public line lets a damaged file be told from a good one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from commune.core.errors import CommuneError
from commune.core.keys import SecretKey

HEADER = "commune-secret-key v1"


class KeyFileError(CommuneError):
    reason = "key_file"


def create_key_file(path: str | os.PathLike[str], key: SecretKey | None = None) -> SecretKey:
    """Write a new key (or `key`) to `path` with mode 0600. Refuses to overwrite anything."""
    path = Path(path)
    key = key or SecretKey.generate()
    text = _render(key)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; commune never replaces a key file") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create the key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the file's name must survive a power cut too
    finally:
        os.close(dir_fd)
    return key


def _render(key: SecretKey) -> str:
    return f"{HEADER}\nseed {key.seed.hex()}\npublic {key.public.hex()}\n"


def load_key_file(path: str | os.PathLike[str]) -> SecretKey:
    """Read the key at `path`. Any problem is a KeyFileError naming the file and what to do."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(
            f"the key file {path} is missing; restore it from your backup (a new key would be a different person)"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the key file {path} can be read by other users (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not text"
        raise KeyFileError(f"cannot read the key file {path}: {reason}") from None
    try:
        seed = bytes.fromhex(text.split("\n")[1].removeprefix("seed "))
        key = SecretKey(seed)
    except (ValueError, IndexError):
        raise KeyFileError(f"the key file {path} is corrupt; restore it from your backup") from None
    lines = text.split("\n")
    if len(lines) > 2 and lines[2].startswith("public ") and lines[2] != f"public {key.public.hex()}":
        raise KeyFileError(
            f"the key file {path} is corrupt (its key does not match its public line); restore it from your backup"
        )
    if text.rstrip("\n") != _render(key).rstrip("\n"):
        raise KeyFileError(
            f"the key file {path} is corrupt (it is not exactly what commune wrote); restore it from your backup"
        )
    return key
