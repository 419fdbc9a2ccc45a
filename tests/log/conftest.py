"""Fixtures for the log tests; the helpers they share are in logkit.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from logkit import COMMUNE, START_MS, key_of, sign_bytes

from commune.core.clock import ManualClock
from commune.core.keys import SecretKey
from commune.log.store import EntryStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def commune() -> bytes:
    """The id of the commune every test store belongs to."""
    return COMMUNE


@pytest.fixture
def sign() -> Callable[[SecretKey, bytes], bytes]:
    """Signs arbitrary payload bytes: signature || payload, as entries are stored and sent."""
    return sign_bytes


@pytest.fixture
def open_store(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., EntryStore]]:
    """Opens EntryStores in tmp_path (by file name) and closes them all at teardown."""
    opened: list[EntryStore] = []

    def _open(name: str = "entries.db", **kwargs: object) -> EntryStore:
        kwargs.setdefault("clock", clock)
        s = EntryStore(tmp_path / name, kwargs.pop("commune", COMMUNE), **kwargs)  # type: ignore[arg-type]
        opened.append(s)
        return s

    yield _open
    for s in opened:
        try:
            s.close()
        except Exception:
            pass


@pytest.fixture
def store(open_store: Callable[..., EntryStore]) -> EntryStore:
    return open_store()


@pytest.fixture
def alice() -> SecretKey:
    return key_of("alice")


@pytest.fixture
def bob() -> SecretKey:
    return key_of("bob")


@pytest.fixture
def carol() -> SecretKey:
    return key_of("carol")
