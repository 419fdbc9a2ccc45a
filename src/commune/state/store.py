"""The node's derived state: the chain's blocks and the views they produce, in one SQLite file.

Every accepted block is written with the rows it changed and its postings in one transaction,
so a restart loads the views as they were after the last whole block, with no replay. The raw
record (the genesis, each block's bytes, and the entry store) can always rebuild the views
from nothing; `rebuild` does, and must give the same digest.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from commune.chain.block import Block, Header
from commune.chain.genesis import Genesis, decode_genesis
from commune.chain.process import EntrySource, build_block, check_block, pending_entries, pending_proofs
from commune.core.errors import CommuneError
from commune.core.keys import SecretKey
from commune.log.entry import Entry
from commune.rules import engine
from commune.rules.accounts import DIVIDENDS, participant_account
from commune.rules.effects import Post, Posting, TakeDividend
from commune.rules.model import TABLES, CommuneState
from commune.state import views
from commune.state.digest import state_digest, table_digests

#: Raised whenever the stored tables change shape; a file of another version is rebuilt, not read.
SCHEMA_VERSION = 4

_RECORD = """
CREATE TABLE IF NOT EXISTS record (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chain (height INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS postings (
    height INTEGER NOT NULL, txn INTEGER NOT NULL, line INTEGER NOT NULL,
    account TEXT NOT NULL, amount INTEGER NOT NULL, memo TEXT NOT NULL,
    PRIMARY KEY (height, txn, line)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS postings_by_account ON postings (account, height);
"""


class StateError(CommuneError):
    reason = "state_store"


def found_state(genesis: Genesis) -> CommuneState:
    """The state at a commune's genesis."""
    state = CommuneState()
    ids = genesis.enterprise_ids()
    engine.found(
        state,
        commune=genesis.commune_id,
        charter=genesis.charter,
        time_ms=genesis.time_ms,
        founders=tuple(f.key for f in genesis.founders),
        enterprises=tuple((eid, e.name, e.signers, e.k) for eid, e in zip(ids, genesis.enterprises, strict=False)),
        stewards=genesis.stewards,
    )
    return state


class StateStore:
    """The chain and its derived state for one commune, in the SQLite file at `path`."""

    def __init__(self, path: str | os.PathLike[str], genesis: Genesis | None = None) -> None:
        self.path = Path(path)
        #: Each table's hash as of the last digest, dropped when a block changes the table.
        self._digests: dict[str, bytes] = {}
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint=10000")  # as the entry store: fewer disk syncs
            self._db.execute("PRAGMA cache_size=-65536")  # 64 MB: the postings index is written at random
            self._db.executescript(_RECORD)
            schema = self._db.execute("SELECT value FROM record WHERE name = 'schema'").fetchone()
            if schema is not None and schema[0] != SCHEMA_VERSION:
                self._db.close()
                raise StateError(
                    f"{self.path} was written by another version of commune (state schema {schema[0]}, this one "
                    f"reads {SCHEMA_VERSION}); move the file aside and the node will derive its state again"
                )
            self._db.executescript(views.schema())
            stored = self._db.execute("SELECT value FROM record WHERE name = 'genesis'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot open the state store {self.path}: {exc}") from None
        if stored is None:
            if genesis is None:
                raise StateError(f"{self.path} holds no commune; found one or join one first")
            self.genesis = genesis
            self.state = found_state(genesis)
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO record VALUES (?, ?)",
                    [("genesis", genesis.to_bytes()), ("schema", SCHEMA_VERSION)],
                )
                views.write(self._db, self.state.tables, self.state.commit_pending())
                self.state.commit()
        else:
            self.genesis = decode_genesis(bytes(stored[0]))
            if genesis is not None and genesis.commune_id != self.genesis.commune_id:
                raise StateError(f"{self.path} holds another commune ({self.genesis.commune_id.hex()[:12]})")
            self.state = CommuneState()
            # One read transaction: a node may commit a block while another process loads.
            self._db.execute("BEGIN")
            try:
                for table in TABLES:
                    self.state.load(table, views.read(self._db, table))
            finally:
                self._db.execute("COMMIT")

    @property
    def commune(self) -> bytes:
        return self.genesis.commune_id

    @property
    def height(self) -> int:
        return self.state.height

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- blocks ----------------------------------------------------------------------------

    def apply_block(self, data: bytes | Block, source: EntrySource, now_ms: int | None = None) -> Header:
        """Check the next block and keep it with its state. Refused or pending: nothing changes.
        `now_ms`: this node's clock, to refuse a block from too far in the future."""
        block, header = check_block(self.state, data, source, now_ms)
        self._keep(block, header)
        return header

    def propose_block(
        self, key: SecretKey, source: EntrySource, time_ms: int, entries: Sequence[Entry] | None = None
    ) -> Block:
        """Build, sign and keep the next block (this node is the steward)."""
        if key.public not in self.state.stewards:
            raise StateError(
                "this key is not a steward of the commune: only a steward's node builds blocks", reason="not_a_steward"
            )
        if entries is None:
            entries = pending_entries(self.state, source, time_ms)
        block = build_block(self.state, key, time_ms, entries, pending_proofs(self.state, source))
        self._keep(block, block.decoded())
        return block

    def _keep(self, block: Block, header: Header) -> None:
        try:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO chain VALUES (?, ?, ?)", (header.height, block.id, block.to_bytes()))
            lines = []
            txn = 0
            for effect in header.effects:
                if isinstance(effect, TakeDividend):  # a posting too, kept out of credit history
                    effect = Post(
                        (
                            Posting(DIVIDENDS, effect.amount),
                            Posting(participant_account(effect.person), -effect.amount),
                        ),
                        "dividends drawn",
                    )
                if isinstance(effect, Post):
                    lines.extend(
                        (header.height, txn, i, p.account, p.amount, effect.memo) for i, p in enumerate(effect.postings)
                    )
                    txn += 1
            self._db.executemany("INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?)", lines)
            changed = self.state.commit_pending()
            views.write(self._db, self.state.tables, changed)
            self._db.execute("COMMIT")
            for table, _key in changed:
                self._digests.pop(table, None)
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self.state.rollback()
            raise
        self.state.commit()

    def block(self, height: int) -> bytes | None:
        row = self._db.execute("SELECT raw FROM chain WHERE height = ?", (height,)).fetchone()
        return bytes(row[0]) if row else None

    def blocks_after(self, height: int, limit: int = 100) -> list[bytes]:
        rows = self._db.execute("SELECT raw FROM chain WHERE height > ? ORDER BY height LIMIT ?", (height, limit))
        return [bytes(raw) for (raw,) in rows]

    # -- reading ---------------------------------------------------------------------------

    def digest(self) -> bytes:
        """The state digest; tables no block changed since the last call are not rehashed."""
        digests = table_digests(self.state, self._digests)
        self._digests = digests
        return state_digest(self.state, digests)

    def postings(self, account: str | None = None) -> list[tuple[int, int, int, str, int, str]]:
        if account is None:
            return list(self._db.execute("SELECT * FROM postings ORDER BY height, txn, line"))
        return list(self._db.execute("SELECT * FROM postings WHERE account = ? ORDER BY height, txn, line", (account,)))

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Read the views directly (reports)."""
        return list(self._db.execute(sql, params))

    def rebuild(self, source: EntrySource) -> bytes:
        """Replay every stored block from the genesis into fresh views; return the new digest."""
        raws = [bytes(raw) for (raw,) in self._db.execute("SELECT raw FROM chain ORDER BY height")]
        fresh = found_state(self.genesis)
        fresh.commit()
        for raw in raws:
            check_block(fresh, raw, source)
            fresh.commit()
        self._db.execute("BEGIN")
        try:
            for table in TABLES:
                self._db.execute(f"DELETE FROM {table}")
            views.write(self._db, fresh.tables, ((t, k) for t in TABLES for k in fresh.tables[t]))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.state = fresh
        self._digests = {}
        return self.digest()
