"""Ingest benchmark: entries verified and stored per second, against raw signature verification.

Builds N entries from 50 authors (every tenth refers to another author's entry), then measures
in one run, on this machine:

- raw: PyNaCl verifications per second on one core (the physical limit of `every`);
- every_1core: ingest with every signature verified, process pinned to one core;
- every_2cores: the same on both cores (signatures verified on two threads);
- newest: ingest verifying only each feed's newest signature per batch, one core.

Last line: RESULT every_sig_ratio=<every_1core/raw> both_cores_speedup=<every_2cores/every_1core>
newest_sig_rate=<entries/s>. Targets (DESIGN 7, issue 2): >= 0.85, >= 1.6, >= 60000 at N = 200000.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from commune.core.clock import ManualClock
from commune.core.keys import ParallelVerifier, SecretKey, verify_all
from commune.log.bodies import Note
from commune.log.entry import ZERO_ID, sign_entry
from commune.log.store import EntryStore
from commune.log.verify import VerifyMode

AUTHORS = 50
BATCH = 2000
COMMUNE = bytes(range(32))
START_MS = 1_767_225_600_000


def build(n: int) -> list[tuple[bytes, bytes]]:
    """(author, raw) for n entries in causal order, round-robin over the authors."""
    keys = [SecretKey(bytes([i + 1]) * 32) for i in range(AUTHORS)]
    heads: list[tuple[int, bytes]] = [(0, ZERO_ID)] * AUTHORS
    out: list[tuple[bytes, bytes]] = []
    last_id: bytes | None = None
    from commune.log.entry import entry_id_of

    for i in range(n):
        a = i % AUTHORS
        seq, prev = heads[a]
        refs = (last_id,) if (i % 10 == 9 and last_id is not None) else ()
        raw = sign_entry(
            keys[a],
            commune=COMMUNE,
            seq=seq + 1,
            prev=prev,
            time_ms=START_MS + i,
            chain_ref=COMMUNE,
            refs=refs,
            body=Note(f"entry {i}: rent paid for the oven, period {i // 1000}"),
        )
        eid = entry_id_of(raw)
        heads[a] = (seq + 1, eid)
        last_id = eid
        out.append((keys[a].public, raw))
    return out


def pin(cores: set[int]) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)


def raw_verify_rate(pairs: list[tuple[bytes, bytes]], seconds: float = 3.0) -> float:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        chunk = pairs[: 5000]
        ok = verify_all(chunk)
        assert all(ok)
        done += len(chunk)
    return done / (time.perf_counter() - start)


def ingest_rate(raws: list[bytes], mode: VerifyMode, verifier, workdir: Path, name: str) -> float:
    path = workdir / f"{name}.sqlite"
    store = EntryStore(path, COMMUNE, clock=ManualClock(START_MS + len(raws)), verifier=verifier)
    start = time.perf_counter()
    for i in range(0, len(raws), BATCH):
        store.ingest(raws[i : i + BATCH], mode=mode)
    elapsed = time.perf_counter() - start
    assert store.count() == len(raws), (store.count(), len(raws))
    store.close()
    return len(raws) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    one_core = {min(all_cores)}

    t = time.perf_counter()
    pairs = build(args.entries)
    raws = [raw for _, raw in pairs]
    print(f"built {len(raws):,} entries from {AUTHORS} authors in {time.perf_counter() - t:.1f} s "
          f"(mean {sum(map(len, raws)) // len(raws)} bytes)")

    with tempfile.TemporaryDirectory(prefix="commune-bench-") as tmp:
        workdir = Path(tmp)
        pin(one_core)
        # This machine's speed drifts (a shared virtual machine): the limit is measured just
        # before and just after the run it is compared with, and the mean is used.
        before = raw_verify_rate(pairs)
        every1 = ingest_rate(raws, VerifyMode.EVERY, verify_all, workdir, "every1")
        after = raw_verify_rate(pairs)
        raw = (before + after) / 2
        print(f"raw PyNaCl verify, 1 core:        {raw:>10,.0f} /s   (the limit; {before:,.0f} before, "
              f"{after:,.0f} after)")
        print(f"ingest, every signature, 1 core:  {every1:>10,.0f} /s   ratio {every1 / raw:.3f} (target >= 0.85)")
        newest = ingest_rate(raws, VerifyMode.NEWEST, verify_all, workdir, "newest")
        print(f"ingest, newest signature, 1 core: {newest:>10,.0f} /s   (target >= 60,000)")
        pin(all_cores)
        verifier = ParallelVerifier(len(all_cores))
        every2 = ingest_rate(raws, VerifyMode.EVERY, verifier, workdir, "every2")
        verifier.close()
        print(f"ingest, every signature, {len(all_cores)} cores: {every2:>10,.0f} /s   "
              f"speedup {every2 / every1:.2f} (target >= 1.6)")

    print(f"RESULT every_sig_ratio={every1 / raw:.3f} both_cores_speedup={every2 / every1:.2f} "
          f"newest_sig_rate={newest:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
