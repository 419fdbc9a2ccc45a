"""The state digest: one hash over the canonical state, for two nodes to compare.

Each table's rows are encoded canonically in key order and hashed; the digest hashes the
table names with their hashes, so `table_digests` also says which table two nodes differ in.
"""

from __future__ import annotations

import hashlib

from commune.core.encoding import encode
from commune.rules.model import TABLES, CommuneState

_HASH = hashlib.blake2b


def table_digest(state: CommuneState, name: str) -> bytes:
    """The hash of one table: its (key, row) pairs encoded canonically, in key order."""
    h = _HASH(digest_size=32)
    for key, value in sorted(state.tables[name].items()):
        h.update(encode((key, value)))
    return h.digest()


def table_digests(state: CommuneState, cached: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Each table's hash; tables in `cached` (unchanged since it was filled) are not rehashed."""
    cached = cached if cached is not None else {}
    return {name: cached.get(name) or table_digest(state, name) for name in TABLES}


def state_digest(state: CommuneState, cached: dict[str, bytes] | None = None) -> bytes:
    h = _HASH(digest_size=32, person=b"commune state")
    for name, digest in table_digests(state, cached).items():
        h.update(encode((name, digest)))
    return h.digest()
