"""Crash safety (DESIGN 8): a store killed with SIGKILL mid-batch holds only whole batches.

A real child process ingests batches of BATCH entries into a store file and prints the store's
count after each commit. The parent kills it (SIGKILL) at random moments, reopens the store,
and checks: SQLite's integrity check passes, the count is a whole number of batches, no batch
the child reported as committed is lost, and every stored entry decodes, verifies and chains.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from logkit import COMMUNE, START_MS

from commune.core.clock import ManualClock
from commune.core.keys import verify
from commune.log.entry import ZERO_ID
from commune.log.store import EntryStore

BATCH = 500
AUTHORS = 5
KILLS = 5

CHILD = textwrap.dedent(
    """
    import hashlib, sys
    from commune.core.clock import ManualClock
    from commune.core.keys import SecretKey
    from commune.log.bodies import Note
    from commune.log.entry import ZERO_ID, sign_entry
    from commune.log.store import EntryStore

    path, commune_hex, start_ms, batch, authors, round_no = sys.argv[1:]
    commune, start_ms, batch, authors = bytes.fromhex(commune_hex), int(start_ms), int(batch), int(authors)
    blake = lambda b: hashlib.blake2b(b, digest_size=32).digest()
    keys = [SecretKey(blake(b"crash author %d" % i)) for i in range(authors)]
    store = EntryStore(path, commune, clock=ManualClock(start_ms))
    state = {}
    for k in keys:
        h = store.head(k.public)
        state[k.public] = (h.seq, h.id, h.time_ms) if h else (0, ZERO_ID, start_ms - 10**9)
    print("ready", store.count(), flush=True)
    n = 0
    while True:
        raws = []
        for k in keys:
            seq, prev, t = state[k.public]
            for _ in range(batch // authors):
                seq += 1
                t += 1
                raw = sign_entry(k, commune=commune, seq=seq, prev=prev, time_ms=t, chain_ref=commune,
                                 body=Note("round %s entry %d" % (round_no, seq)))
                prev = blake(raw)
                raws.append(raw)
            state[k.public] = (seq, prev, t)
        store.ingest(raws, durable=(n % 3 == 2))
        n += 1
        print("committed", store.count(), flush=True)
    """
)


def _check_store(path: Path, last_reported: int, seed: int) -> int:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"seed {seed}"
    finally:
        con.close()
    with EntryStore(path, COMMUNE, clock=ManualClock(START_MS)) as store:
        count = store.count()
        assert count % BATCH == 0, f"a partial batch is stored: {count} entries (seed {seed})"
        # nothing acknowledged is lost; at most one batch was committed but not yet reported
        assert count in (last_reported, last_reported + BATCH), (count, last_reported, seed)
        frontier = store.frontier()
        if count:
            assert len(frontier) == AUTHORS and set(frontier.values()) == {count // AUTHORS}, frontier
        for author in frontier:
            prev = ZERO_ID
            n = 0
            for entry in store.feed(author):
                n += 1
                assert entry.seq == n and entry.prev == prev and entry.author == author
                assert verify(author, entry.raw), f"entry #{n} does not verify (seed {seed})"
                prev = entry.id
            assert n == frontier[author]
            head = store.head(author)
            assert head is not None and head.id == prev
            if n:
                assert store.get_by_id(prev) is not None
    return count


@pytest.mark.slow
def test_kill_9_mid_batch_leaves_only_whole_batches(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "crash.db"
    reported = 0
    commits_seen = 0
    for round_no in range(KILLS):
        child = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(path),
                COMMUNE.hex(),
                str(START_MS),
                str(BATCH),
                str(AUTHORS),
                str(round_no),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            ready = child.stdout.readline().split()
            assert ready[:1] == ["ready"], (ready, child.stderr.read() if child.stderr else "")
            assert int(ready[1]) in (reported, reported + BATCH)
            reported = int(ready[1])  # the reopened count is also acknowledged
            for _ in range(rng.randint(0, 4)):
                line = child.stdout.readline().split()
                assert line[:1] == ["committed"], (line, child.stderr.read() if child.stderr else "")
                reported = int(line[1])
                commits_seen += 1
            time.sleep(rng.uniform(0, 0.05))
            os.kill(child.pid, signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, err
        for line in out.split("\n"):
            if line.startswith("committed"):
                reported = int(line.split()[1])
                commits_seen += 1
        reported = _check_store(path, reported, seed)
    assert commits_seen >= 1, f"the child never committed a batch (seed {seed})"
    assert reported >= BATCH
