"""The state digest: one hash over the canonical state, for two nodes to compare.

Each table's rows are encoded canonically in key order and hashed; the digest hashes the
table names with their hashes, so `table_digests` also says which table two nodes differ in.
"""

from __future__ import annotations

import hashlib

from commune.core.encoding import encode
from commune.rules.model import CommuneState

_HASH = hashlib.blake2b


def table_digests(state: CommuneState) -> dict[str, bytes]:
    out = {}
    for name, rows in state.digest_rows():
        h = _HASH(digest_size=32)
        for key, value in rows:
            h.update(encode((key, value)))
        out[name] = h.digest()
    return out


def state_digest(state: CommuneState) -> bytes:
    h = _HASH(digest_size=32, person=b"commune state")
    for name, digest in table_digests(state).items():
        h.update(encode((name, digest)))
    return h.digest()
