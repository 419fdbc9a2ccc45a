"""Sync benchmark: bulk and incremental sync between two nodes over loopback TCP + TLS 1.3.

The two nodes are separate processes, as a real sync has two machines' CPUs: the serving node
(A) runs in a child process, the fresh node (B) in this one. For each size of history (10,000
entries and --entries, default 1,000,000; each size has its own A and B):

- entries are built from AUTHORS authors (every tenth refers to an earlier entry, mostly another
  author's) and stored on A, ingested locally in batches of about one bulk Entries message,
  verifying each feed's newest signature per batch (NEWEST, as a bulk sync takes them in): that
  ingest rate is the limit for bulk sync, measured in the same run on the same entries;
- B, a fresh node whose key is a founder of the commune, runs `Hub.sync_once` against A: connect,
  TLS handshake, Hello, both frontiers, A streams everything, Synced and Bye both ways. Entries
  per second of that whole call is the bulk figure. Then `Hub.settle` checks the signatures the
  bulk sync took on trust of the hash chain (the backlog check), timed apart and set beside the
  raw PyNaCl verification rate;
- then REPS times, in turn for each size (this machine's speed drifts): A takes in 100 new
  entries (100 feeds), then B, already synced, runs `sync_once` again; the median of those calls
  is the incremental figure. It includes a new TCP + TLS connection and both frontiers (B's lists
  every feed), and is set beside its floor measured in the same run: a TLS connection alone, plus
  A's own ingest of the 100 entries with every signature checked (what B must do with them too).

Where the time goes: each process's seconds on a CPU during the bulk sync (sender vs receiver),
from /proc/<pid>/schedstat, which also gives the seconds it waited for a CPU that other processes
held (this machine may be shared: then the wall-clock figures drop and the CPU figures do not).

Last line: RESULT bulk_entries_per_s=<a> incremental_ms_10k=<b> incremental_ms_1m=<c> (the last
measured at --entries). Targets (DESIGN 7): bulk >= 50,000 entries/s end to end at 1,000,000;
incremental < 30 ms at both sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import multiprocessing
import os
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from commune.chain.genesis import decode_genesis, make_genesis
from commune.core.clock import SystemClock
from commune.core.keys import SecretKey, verify_all
from commune.core.verifier import ParallelVerifier
from commune.log.bodies import Note
from commune.log.entry import ZERO_ID, entry_id_of, sign_entry
from commune.log.store import EntryStore
from commune.log.verify import VerifyMode
from commune.net import sync as protocol
from commune.net.hub import Hub
from commune.net.transport import TlsTransport
from commune.rules.charter import Charter
from commune.state.store import StateStore

AUTHORS = 200
SMALL = 10_000
INCREMENT = 100
#: The size of the Entries messages of a bulk sync (the sender fills them to about this).
BULK_BYTES = getattr(protocol, "BULK_BATCH_BYTES", protocol.BATCH_BYTES)
#: Claimed times start this long before now (so that none is in the future), one ms per entry.
PAST_MS = 3_600_000


def key_of(name: str) -> SecretKey:
    return SecretKey(hashlib.blake2b(b"bench sync " + name.encode(), digest_size=32).digest())


def author_keys() -> list[SecretKey]:
    return [key_of(f"author {a}") for a in range(AUTHORS)]


def build_part(commune: bytes, n: int, start_ms: int, part: int, parts: int) -> list[bytes]:
    """Entries i < n of the authors a with a % parts == part (entry i is by author i % AUTHORS),
    in order of i; every tenth refers to one of the part's 64 entries before it, chosen at random
    (most often another author's: a confirmation naming a deposit, a vote naming a proposal)."""
    keys = author_keys()
    rng = random.Random(part)
    heads: dict[int, tuple[int, bytes]] = {}
    out: list[bytes] = []
    recent: list[bytes] = []
    for i in range(n):
        a = i % AUTHORS
        if a % parts != part:
            continue
        seq, prev = heads.get(a, (0, ZERO_ID))
        refs = (rng.choice(recent),) if len(out) % 10 == 9 else ()
        raw = sign_entry(
            keys[a],
            commune=commune,
            seq=seq + 1,
            prev=prev,
            time_ms=start_ms + i,
            chain_ref=commune,
            refs=refs,
            body=Note(f"entry {i}: rent paid for the oven, period {i // 1000}"),
        )
        entry_id = entry_id_of(raw)
        heads[a] = (seq + 1, entry_id)
        recent = [*recent[-63:], entry_id]
        out.append(raw)
    return out


def build(commune: bytes, n: int, start_ms: int, workers: int) -> list[bytes]:
    """n entries in causal order (entry i by author i % AUTHORS), signed on `workers` cores."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(build_part, commune, n, start_ms, p, workers) for p in range(workers)]
        parts = [f.result() for f in futures]
    cursors = [iter(p) for p in parts]
    return [next(cursors[(i % AUTHORS) % workers]) for i in range(n)]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sched(pid: int | str = "self") -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of a process's main thread;
    the second is what other processes on this machine took from it (0 where Linux does not say)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            run_ns, wait_ns = f.read().split()[:2]
        return int(run_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return (cpu_s(), 0.0) if pid == "self" else (float("nan"), 0.0)


# -- the serving node (A), in a child process -------------------------------------------------


def serve(conn, directory: str, genesis_bytes: bytes) -> None:
    """A's node: listen, send the address, then answer commands from the bench until 'stop'."""
    asyncio.run(_serve(conn, Path(directory), genesis_bytes))


async def _serve(conn, directory: Path, genesis_bytes: bytes) -> None:
    genesis = decode_genesis(genesis_bytes)
    clock = SystemClock()
    entries = EntryStore(directory / "entries.sqlite", genesis.commune_id, clock=clock)
    state = StateStore(directory / "state.sqlite", genesis)
    hub = Hub(TlsTransport(key_of("server"), directory), entries, state, clock)
    conn.send(await hub.listen("127.0.0.1:0"))
    stop = asyncio.Event()

    def command() -> None:
        what, arg = conn.recv()
        if what == "append":
            start = time.perf_counter()
            stored = hub.take_entries(arg, VerifyMode.EVERY, None)
            conn.send((stored, time.perf_counter() - start))
        elif what == "stop":
            stop.set()

    loop = asyncio.get_running_loop()
    loop.add_reader(conn.fileno(), command)
    await stop.wait()
    loop.remove_reader(conn.fileno())
    await hub.close()
    entries.close()
    state.close()
    conn.send("stopped")


class Server:
    """The child process holding A, and the pipe that drives it."""

    def __init__(self, directory: Path, genesis_bytes: bytes) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, str(directory), genesis_bytes), daemon=True)
        self.process.start()
        self.address: str = self.conn.recv()

    def ask(self, what: str, arg: object = None):
        self.conn.send((what, arg))
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        assert self.conn.recv() == "stopped"
        self.process.join(10)


# -- one size of history -----------------------------------------------------------------------


def fill(path: Path, commune: bytes, raws: list[bytes], batch: int) -> tuple[float, float, float]:
    """Store `raws` on A as a bulk sync takes them in, in batches of `batch` entries (about one
    Entries message): (wall, on a CPU, waiting for a CPU) seconds."""
    store = EntryStore(path, commune, clock=SystemClock())
    run0, wait0 = sched()
    start = time.perf_counter()
    for i in range(0, len(raws), batch):
        store.ingest(raws[i : i + batch], mode=VerifyMode.NEWEST)
    elapsed = time.perf_counter() - start
    run1, wait1 = sched()
    assert store.count() == len(raws)
    # A node passes on only entries whose signatures it has checked itself: check them (on both
    # cores, not timed) before A serves them, as a node does in idle time after a bulk sync.
    verifier = ParallelVerifier(2)
    store.verifier = verifier
    try:
        while store.unverified():
            store.verify_backlog(limit=200_000)
    finally:
        verifier.close()
    store.close()
    return elapsed, run1 - run0, wait1 - wait0


async def connect_ms(hub: Hub, key: bytes, address: str) -> float:
    """One TCP connection with the preface and the TLS 1.3 handshake, closed at once."""
    start = time.perf_counter()
    link = await hub.transport.connect(address, key)
    elapsed = time.perf_counter() - start
    link.abort()
    await asyncio.sleep(0.01)  # let A see the link go before the next one
    return elapsed * 1000


class Size:
    """One size of history: A (a child process) holding it, B (in this process) synced with it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.out: dict = {"n": n, "incr_samples": [], "a_ingest": [], "cpu_a": [], "cpu_b": [], "waits": [], "tls": []}
        self.profiler: cProfile.Profile | None = None

    async def setup(self, workdir: Path, genesis, args) -> None:
        """Build the entries, fill A, start it, then B's bulk sync and backlog check."""
        n, out, commune = self.n, self.out, genesis.commune_id
        start_ms = SystemClock().now_ms() - PAST_MS - n - args.reps * INCREMENT
        t = time.perf_counter()
        raws = build(commune, n + args.reps * INCREMENT, start_ms, args.workers)
        bulk, self.increments = raws[:n], raws[n:]
        out["build_s"] = time.perf_counter() - t
        out["bytes"] = sum(map(len, bulk))
        a_dir, b_dir = workdir / f"a{n}", workdir / f"b{n}"
        a_dir.mkdir()
        b_dir.mkdir()
        StateStore(a_dir / "state.sqlite", genesis).close()
        out["batch"] = min(protocol.MAX_BATCH_ENTRIES, BULK_BYTES * n // out["bytes"])
        out["fill"] = fill(a_dir / "entries.sqlite", commune, bulk, out["batch"])
        del raws, bulk

        self.server = Server(a_dir, genesis.to_bytes())
        self.a_key = key_of("server").public
        clock = SystemClock()
        self.entries = EntryStore(b_dir / "entries.sqlite", commune, clock=clock)
        self.state = StateStore(b_dir / "state.sqlite", genesis)
        self.hub = Hub(TlsTransport(key_of("client"), b_dir), self.entries, self.state, clock)
        a0, b0 = sched(self.server.process.pid), sched()
        start = time.perf_counter()
        session = await self.hub.sync_once(self.a_key, self.server.address)
        out["bulk_s"] = time.perf_counter() - start
        a1, b1 = sched(self.server.process.pid), sched()
        out["a_run"], out["a_wait"] = a1[0] - a0[0], a1[1] - a0[1]
        out["b_run"], out["b_wait"] = b1[0] - b0[0], b1[1] - b0[1]
        assert session.stats["entries_in"] == n == self.entries.count(), (session.stats, n, self.entries.count())
        out["unverified"] = self.entries.unverified()
        start = time.perf_counter()
        await self.hub.settle()
        out["settle_s"] = time.perf_counter() - start
        assert self.entries.unverified() == 0
        self.profiler = cProfile.Profile() if args.profile else None

    async def incremental(self, r: int) -> None:
        """A takes in 100 new entries; B syncs again (timed); then one TLS connection alone (timed)."""
        out, server = self.out, self.server
        stored, ingest_s = server.ask("append", self.increments[r * INCREMENT : (r + 1) * INCREMENT])
        assert stored == INCREMENT
        out["a_ingest"].append(ingest_s * 1000)
        a0, b0 = sched(server.process.pid), sched()
        if self.profiler:
            self.profiler.enable()
        start = time.perf_counter()
        session = await self.hub.sync_once(self.a_key, server.address)
        out["incr_samples"].append((time.perf_counter() - start) * 1000)
        if self.profiler:
            self.profiler.disable()
        a1, b1 = sched(server.process.pid), sched()
        out["cpu_a"].append((a1[0] - a0[0]) * 1000)
        out["cpu_b"].append((b1[0] - b0[0]) * 1000)
        out["waits"].append((a1[1] - a0[1] + b1[1] - b0[1]) * 1000)
        assert session.stats["entries_in"] == INCREMENT, session.stats
        out["tls"].append(await connect_ms(self.hub, self.a_key, server.address))

    async def close(self) -> None:
        if hasattr(self, "hub"):
            await self.hub.close()
            self.entries.close()
            self.state.close()
        if hasattr(self, "server"):
            self.server.stop()

    def summary(self) -> dict:
        out = self.out
        for key, name in [
            ("incr_ms", "incr_samples"),
            ("incr_cpu_a", "cpu_a"),
            ("incr_cpu_b", "cpu_b"),
            ("incr_wait", "waits"),
            ("a_ingest_ms", "a_ingest"),
            ("tls_ms", "tls"),
        ]:
            out[key] = statistics.median(out[name])
        if self.profiler:
            text = io.StringIO()
            pstats.Stats(self.profiler, stream=text).sort_stats("tottime").print_stats(30)
            out["profile"] = text.getvalue()
        return out


def raw_verify_rate(commune: bytes, count: int = 20_000) -> float:
    """PyNaCl verifications per second on one core, on entries like the benchmark's."""
    keys = author_keys()
    raws = build_part(commune, count, SystemClock().now_ms() - PAST_MS, 0, 1)
    pairs = [(keys[i % AUTHORS].public, raw) for i, raw in enumerate(raws)]
    start = time.perf_counter()
    assert all(verify_all(pairs))
    return count / (time.perf_counter() - start)


def report(r: dict, raw_verify: float) -> None:
    n = r["n"]
    rate = n / r["bulk_s"]
    fill_s, fill_run, fill_wait = r["fill"]
    limit = n / fill_s
    print(f"-- {n:,} entries of history ({AUTHORS} feeds, {r['bytes'] / 1e6:.0f} MB), built in {r['build_s']:.1f} s")
    print(
        f"  limit: local NEWEST ingest on A, batches of {r['batch']:,}: {limit:>8,.0f} entries/s   "
        f"({1e6 * fill_run / n:.1f} us/entry on a CPU; {fill_wait:.2f} s waiting for one, "
        f"{fill_s - fill_run - fill_wait:.2f} s idle: the disk)"
    )
    print(
        f"  bulk sync B <- A, whole sync_once:          {rate:>9,.0f} entries/s   ratio {rate / limit:.3f}"
        f"   ({r['bulk_s']:.2f} s; target >= 50,000/s)"
    )
    idle = r["bulk_s"] - r["b_run"] - r["b_wait"]
    print(
        f"    B (receiver): {1e6 * r['b_run'] / n:.1f} us/entry on a CPU (local ingest: {1e6 * fill_run / n:.1f}), "
        f"{r['b_run']:.2f} s = {r['b_run'] / r['bulk_s']:.0%} of the sync; "
        f"{r['b_wait']:.2f} s waiting for a CPU, {idle:.2f} s idle (waiting for A or the disk)"
    )
    print(
        f"    A (sender):   {1e6 * r['a_run'] / n:.1f} us/entry on a CPU, {r['a_run']:.2f} s = "
        f"{r['a_run'] / r['bulk_s']:.0%} of the sync; {r['a_wait']:.2f} s waiting for a CPU"
    )
    settle_rate = r["unverified"] / r["settle_s"] if r["settle_s"] else 0.0
    print(
        f"  backlog check (Hub.settle, not in bulk):    {settle_rate:>9,.0f} entries/s   "
        f"ratio {settle_rate / raw_verify:.3f} to raw verify ({r['unverified']:,} signatures in {r['settle_s']:.1f} s)"
    )
    floor = r["tls_ms"] + r["a_ingest_ms"]
    print(
        f"  floor: a TLS connection {r['tls_ms']:.1f} ms + ingest of {INCREMENT} entries, every signature, "
        f"{r['a_ingest_ms']:.1f} ms = {floor:.1f} ms"
    )
    print(
        f"  incremental sync of {INCREMENT} entries:        {r['incr_ms']:>6.1f} ms   ratio floor/it "
        f"{floor / r['incr_ms']:.3f}   (target < 30 ms; samples "
        + ", ".join(f"{s:.1f}" for s in r["incr_samples"])
        + ")"
    )
    print(
        f"    of which the TLS connection {r['tls_ms']:.1f} ms ({r['tls_ms'] / r['incr_ms']:.0%}); on a CPU: "
        f"A {r['incr_cpu_a']:.1f} ms, B {r['incr_cpu_b']:.1f} ms; both waiting for a CPU {r['incr_wait']:.1f} ms"
    )


async def run(args) -> int:
    print(
        "two processes: the serving node A in a child process, the fresh node B in this one "
        f"(both on loopback TCP + TLS 1.3; {os.cpu_count()} cores)"
    )
    founders = ["server", "client"] + [f"author {a}" for a in range(AUTHORS)]
    genesis = make_genesis(
        Charter(name="Bench Commune", currency="EUR"),
        SystemClock().now_ms() - 2 * PAST_MS - args.entries,
        [(key_of(name).public, name) for name in founders],
        key_of("server").public,
    )
    raw_verify = raw_verify_rate(genesis.commune_id)
    print(f"raw PyNaCl verify, 1 core: {raw_verify:,.0f} /s")
    with tempfile.TemporaryDirectory(prefix="commune-bench-") as tmp:
        sizes = [Size(n) for n in sorted({min(SMALL, args.entries), args.entries})]
        try:
            for size in sizes:
                await size.setup(Path(tmp), genesis, args)
            # In turn, so that every size's figure is taken over the same stretch of time.
            for r in range(args.reps):
                for size in sizes:
                    await size.incremental(r)
            for size in sizes:
                assert size.entries.count() == size.n + args.reps * INCREMENT
        finally:
            for size in sizes:
                await size.close()
    results = [size.summary() for size in sizes]
    for r in results:
        report(r, raw_verify)
        if "profile" in r:
            print(f"B's side of the incremental syncs at {r['n']:,} entries, profiled:")
            print(r["profile"])
    small, large = results[0], results[-1]
    if large["n"] != 1_000_000:
        print(f"(incremental_ms_1m below is at {large['n']:,} entries of history)")
    print(
        f"RESULT bulk_entries_per_s={large['n'] / large['bulk_s']:.0f} incremental_ms_10k={small['incr_ms']:.1f} "
        f"incremental_ms_1m={large['incr_ms']:.1f}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of history, the large size")
    parser.add_argument("--reps", type=int, default=5, help="incremental syncs per size (the median is reported)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes that sign the entries")
    parser.add_argument("--profile", action="store_true", help="profile B's side of the incremental syncs")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
