"""Fixtures for the rules tests; the commune they share is in communekit.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from communekit import Commune


@pytest.fixture
def commune(tmp_path: Path) -> Iterator[Commune]:
    c = Commune(tmp_path)
    yield c
    c.world.close()
