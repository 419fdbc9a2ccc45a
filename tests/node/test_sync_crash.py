"""Crash safety of a sync (issue 5; DESIGN 8): the receiving node is killed with SIGKILL at
random moments of a large sync, restarts, and finishes with the serving node's digest; its
SQLite files pass integrity checks after every kill."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nodekit import ENV, Served, as_json, commune, free_port

from commune.core.keyfile import create_key_file
from commune.log.bodies import Note, Transfer
from commune.log.entry import ZERO_ID, entry_id_of, sign_entry
from commune.log.store import EntryStore
from commune.rules.charter import Charter
from commune.sim.world import World
from commune.state.store import StateStore

AUTHORS = ["ana", "ben", "cai", "dee", "eli", "fay", "gus", "hal"]


def build_source(directory: Path, entries: int) -> World:
    """A commune whose founder Ana's node holds `entries` entries and the blocks taking them in."""
    world = World(directory, AUTHORS, charter=Charter(name="Crash", currency="EUR"), nodes=["ana"])
    store = world.nodes["ana"].entries
    per_author = entries // len(AUTHORS)
    for start in range(0, per_author, 1_000):  # signed here and stored in batches: quicker than one by one
        raws = []
        for name in AUTHORS:
            head = store.head(world.pub(name))
            prev, seq = (head.id, head.seq) if head else (ZERO_ID, 0)
            for i in range(start, min(start + 1_000, per_author)):
                raw = sign_entry(
                    world.key(name),
                    commune=world.commune,
                    seq=seq + 1,
                    prev=prev,
                    time_ms=world.clock.now_ms(),
                    chain_ref=world.commune,
                    body=Note(f"entry {i}"),
                )
                raws.append(raw)
                prev, seq = entry_id_of(raw), seq + 1
        store.ingest(raws)
        world.block("ana")
    world.act("ana", Transfer(world.pub("ben"), 1))  # refused on the chain (no money): an effect to agree on
    world.block("ana")
    world.nodes["ana"].close()
    create_key_file(directory / "ana" / "secret.key", world.key("ana"))
    return world


def taken_in(path: Path) -> int:
    """How many entries the store at `path` holds, read beside the process writing it."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT coalesce(sum(last_seq), 0) FROM feeds").fetchone()[0]
    except sqlite3.Error:  # not created yet, or busy: nothing to count yet
        return 0


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_receiver_killed_during_a_large_sync_finishes_with_the_same_digest(tmp_path: Path) -> None:
    world = build_source(tmp_path / "world", 120_000)
    ana = tmp_path / "world" / "ana"
    ben = tmp_path / "ben"
    ben.mkdir()
    create_key_file(ben / "secret.key", world.key("ben"))
    StateStore(ben / "state.sqlite", world.genesis).close()

    rng = random.Random(5)
    server = Served(ana, free_port())
    try:
        want = as_json("status", "-d", str(ana))
        kills = 0
        progress = []
        for _ in range(6):
            proc = subprocess.Popen(
                [sys.executable, "-m", "commune", "sync", server.peer, "-d", str(ben)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=ENV,
            )
            # Killed at a random moment after it has stored a batch of this run: mid-sync, however
            # fast this machine syncs.
            before = progress[-1] if progress else 0
            started = time.monotonic()
            while (
                proc.poll() is None and taken_in(ben / "entries.sqlite") <= before and time.monotonic() - started < 60
            ):
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.1))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            for name in ("entries.sqlite", "state.sqlite"):
                assert integrity(ben / name) == "ok"
            with EntryStore(ben / "entries.sqlite", world.commune) as store:
                progress.append(store.count())  # opens after a kill; holds whole batches only
        assert kills >= 3, f"the sync finished before it could be killed: make it larger ({progress})"
        assert progress == sorted(progress)  # nothing taken in is lost on the next kill
        commune("sync", server.peer, "-d", str(ben), timeout=300)
        got = as_json("status", "-d", str(ben))
        assert (got["height"], got["entries"], got["unverified"]) == (want["height"], want["entries"], 0)
        assert got["digest"] == want["digest"]
    finally:
        assert server.stop() == 0
