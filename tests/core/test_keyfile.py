"""The secret key on disk: mode 0600, never replaced, every problem a KeyFileError naming the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from commune.core.errors import CommuneError
from commune.core.keyfile import HEADER, KeyFileError, create_key_file, load_key_file
from commune.core.keys import SecretKey

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
GOOD_TEXT = f"commune-secret-key v1\nseed {SEED.hex()}\npublic {PUBLIC_HEX}\n"
OTHER = SecretKey(bytes(range(32)))


def _snapshot(path: Path) -> tuple[bytes, int, int, int]:
    st_ = path.stat()
    return path.read_bytes(), stat.S_IMODE(st_.st_mode), st_.st_ino, st_.st_mtime_ns


def _write(path: Path, data: str | bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data.encode("ascii") if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


@pytest.fixture
def umask():
    """Run the test under a given umask, restoring the old one after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


# --- create ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_created_file_has_mode_0600(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / "node.key"
    create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_created_file_has_the_documented_format(tmp_path):
    path = tmp_path / "node.key"
    key = create_key_file(path, SecretKey(SEED))
    assert key.public.hex() == PUBLIC_HEX
    assert path.read_text(encoding="ascii") == GOOD_TEXT
    assert HEADER == "commune-secret-key v1"


def test_create_then_load_round_trips(tmp_path):
    path = tmp_path / "node.key"
    made = create_key_file(path)
    loaded = load_key_file(path)
    assert loaded.seed == made.seed
    assert loaded.public == made.public
    assert loaded.sign(b"x") == made.sign(b"x")


def test_create_accepts_str_paths(tmp_path):
    path = str(tmp_path / "node.key")
    made = create_key_file(path, OTHER)
    assert load_key_file(path).public == made.public == OTHER.public


def test_create_refuses_to_overwrite_and_leaves_the_file_unchanged(tmp_path):
    path = tmp_path / "node.key"
    create_key_file(path, SecretKey(SEED))
    before = _snapshot(path)
    with pytest.raises(KeyFileError) as err:
        create_key_file(path, OTHER)
    assert str(path) in err.value.message
    assert "already exists" in err.value.message
    assert _snapshot(path) == before
    assert load_key_file(path).public.hex() == PUBLIC_HEX


def test_create_refuses_to_overwrite_any_file(tmp_path):
    path = _write(tmp_path / "notes.txt", b"precious", 0o644)
    with pytest.raises(KeyFileError, match="already exists"):
        create_key_file(path)
    assert path.read_bytes() == b"precious"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_create_does_not_follow_a_dangling_symlink(tmp_path):
    target = tmp_path / "elsewhere.key"
    link = tmp_path / "node.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError, match="already exists"):
        create_key_file(link)
    assert not target.exists()


def test_create_in_a_missing_directory_names_the_path(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "node.key"
    with pytest.raises(KeyFileError) as err:
        create_key_file(path)
    assert str(path) in err.value.message
    assert not path.exists()


# --- load: refusals ----------------------------------------------------------------------------


def test_load_of_a_missing_file_says_so_and_creates_nothing(tmp_path):
    path = tmp_path / "node.key"
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert str(path) in err.value.message
    assert "missing" in err.value.message
    assert "backup" in err.value.message
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o610, 0o601, 0o700 | 0o004])
def test_load_refuses_a_file_others_can_read_and_says_chmod_600(tmp_path, mode):
    path = _write(tmp_path / "node.key", GOOD_TEXT, mode)
    before = _snapshot(path)
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert f"chmod 600 {path}" in err.value.message
    assert f"{mode:o}" in err.value.message
    assert _snapshot(path) == before  # load does not fix the mode for you


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_load_accepts_owner_only_modes(tmp_path, mode):
    path = _write(tmp_path / "node.key", GOOD_TEXT, mode)
    assert load_key_file(path).public.hex() == PUBLIC_HEX


CORRUPT = {
    "empty": "",
    "only header": "commune-secret-key v1\n",
    "wrong header": GOOD_TEXT.replace("commune-secret-key v1", "commune-secret-key v2"),
    "header of another program": GOOD_TEXT.replace("commune-secret-key v1", "-----BEGIN PRIVATE KEY-----"),
    "bad hex in seed": GOOD_TEXT.replace(f"seed {SEED.hex()[:2]}", "seed zz"),
    "bad hex in public": GOOD_TEXT.replace(f"public {PUBLIC_HEX[:2]}", "public zz"),
    "odd-length seed": GOOD_TEXT.replace(SEED.hex(), SEED.hex()[:-1]),
    "seed too short": GOOD_TEXT.replace(SEED.hex(), SEED.hex()[:-2]),
    "seed too long": GOOD_TEXT.replace(SEED.hex(), SEED.hex() + "00"),
    "public of another key": GOOD_TEXT.replace(PUBLIC_HEX, OTHER.public.hex()),
    "public empty": GOOD_TEXT.replace(PUBLIC_HEX, ""),
    "public with an extra byte": GOOD_TEXT.replace(PUBLIC_HEX, PUBLIC_HEX + "00"),
    "seed label missing": GOOD_TEXT.replace("seed ", ""),
    "seed label wrong": GOOD_TEXT.replace("seed ", "sead "),
    "public label wrong": GOOD_TEXT.replace("public ", "pubkey "),
    "lines swapped": f"{HEADER}\npublic {PUBLIC_HEX}\nseed {SEED.hex()}\n",
    "extra line": GOOD_TEXT + "comment\n",
    "header missing": f"seed {SEED.hex()}\npublic {PUBLIC_HEX}\n",
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_load_of_a_corrupt_file_names_it_and_leaves_it_alone(tmp_path, name):
    path = _write(tmp_path / "node.key", CORRUPT[name])
    before = _snapshot(path)
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert str(path) in err.value.message
    assert "corrupt" in err.value.message
    assert "restore it from your backup" in err.value.message
    assert _snapshot(path) == before


def test_load_of_every_truncation_is_refused(tmp_path):
    path = tmp_path / "node.key"
    # Dropping only the final newline still leaves three complete lines; any deeper cut is damage.
    for keep in range(len(GOOD_TEXT) - 1):
        _write(path, GOOD_TEXT[:keep])
        with pytest.raises(KeyFileError) as err:
            load_key_file(path)
        assert str(path) in err.value.message, keep
        assert path.read_text(encoding="ascii") == GOOD_TEXT[:keep]
    _write(path, GOOD_TEXT[:-1])
    assert load_key_file(path).public.hex() == PUBLIC_HEX


def test_public_line_not_matching_says_so(tmp_path):
    path = _write(tmp_path / "node.key", CORRUPT["public of another key"])
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert "does not match its public line" in err.value.message
    assert str(path) in err.value.message


@pytest.mark.parametrize("data", [b"\xff\xfe\x00\x01", GOOD_TEXT.encode().replace(b"v1", b"v\xe9")])
def test_load_of_binary_garbage_names_the_file(tmp_path, data):
    path = _write(tmp_path / "node.key", data)
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert str(path) in err.value.message
    assert path.read_bytes() == data


def test_load_of_a_directory_names_it(tmp_path):
    path = tmp_path / "node.key"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert str(path) in err.value.message
    assert path.is_dir()


def test_key_file_error_is_a_commune_error(tmp_path):
    with pytest.raises(CommuneError) as err:
        load_key_file(tmp_path / "nope")
    assert err.value.reason == "key_file"


def test_load_of_a_good_file_does_not_change_it(tmp_path):
    path = _write(tmp_path / "node.key", GOOD_TEXT)
    before = _snapshot(path)
    key = load_key_file(path)
    assert key.seed == SEED
    assert _snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]
