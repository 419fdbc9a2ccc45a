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
    text = f"{HEADER}\nseed {key.seed.hex()}\npublic {key.public.hex()}\n"
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
    return key


def load_key_file(path: str | os.PathLike[str]) -> SecretKey:
    """Read the key at `path`. Any problem is a KeyFileError naming the file and what to do."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(
            f"the key file {path} is missing; restore it from your backup "
            "(a new key would be a different person)"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the key file {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not text"
        raise KeyFileError(f"cannot read the key file {path}: {reason}") from None
    lines = text.splitlines()
    try:
        if len(lines) != 3 or lines[0] != HEADER:
            raise ValueError
        seed = bytes.fromhex(lines[1].removeprefix("seed "))
        public = bytes.fromhex(lines[2].removeprefix("public "))
        if not lines[1].startswith("seed ") or not lines[2].startswith("public "):
            raise ValueError
        key = SecretKey(seed)
    except ValueError:
        raise KeyFileError(f"the key file {path} is corrupt; restore it from your backup") from None
    if key.public != public:
        raise KeyFileError(f"the key file {path} is corrupt (its key does not match its public line); "
                           "restore it from your backup")
    return key
