"""Verifying many signatures on every core: the calling thread and worker processes.

Worker processes, not threads: libsodium releases the GIL, but a thread has to take it back
between signatures, and beside a caller busy with Python work it waits a whole switch interval
each time, so verifying threads ran at a fraction of their speed (measured: a 2-core ingest was
slower than a 1-core one). A process pool with a managing thread had the same trouble feeding
its workers. So each worker here is a process at the end of a socket pair, fed directly by the
caller's thread whenever it hands over work or waits: no helper thread, no GIL to wait for.

Work is cut into jobs. A worker holds at most two jobs at a time; the rest wait in a queue. A
caller that joins a job still in the queue does it itself, and while it waits for a worker's
job it takes queued jobs from the far end, so no core idles while work remains.
"""

from __future__ import annotations

import multiprocessing
import weakref
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection

import msgspec

from commune.core.keys import verify_all

Pairs = Sequence[tuple[bytes, bytes]]

#: Jobs a worker holds at once: one being verified, one waiting in its socket.
_IN_FLIGHT = 2

_encode = msgspec.msgpack.Encoder().encode


def _serve(conn: Connection) -> None:
    """A worker's life: verify each job that arrives, answer with one byte per pair."""
    decode = msgspec.msgpack.Decoder(list[tuple[bytes, bytes]]).decode
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        conn.send_bytes(bytes(verify_all(decode(data))))


class VerifyJob:
    """Some pairs to verify; `join` gives one bool per pair, in order."""

    __slots__ = ("_owner", "items", "result", "worker")

    def __init__(self, owner: ParallelVerifier, items: Pairs) -> None:
        self._owner = owner
        self.items = items
        self.result: list[bool] | None = None
        self.worker: _Worker | None = None

    def join(self) -> list[bool]:
        return self._owner.join(self)

    def discard(self) -> None:
        """Drop the job if no worker has it yet (its batch was refused)."""
        self._owner.discard(self)


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name="commune-verify")
        self.process.start()
        child.close()
        self.sent: deque[VerifyJob] = deque()

    def collect(self, block: bool = False) -> bool:
        """Take in every answer that has arrived (waiting for one if `block`). False if the
        worker is gone: its jobs are then left without a worker, to be done elsewhere."""
        try:
            while self.sent and (block or self.conn.poll()):
                data = self.conn.recv_bytes()
                job = self.sent.popleft()
                job.result = [b == 1 for b in data]
                block = False
        except (EOFError, OSError):
            for job in self.sent:
                job.worker = None
            return False
        return True

    def stop(self) -> None:
        try:
            self.conn.send_bytes(b"")
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()


class ParallelVerifier:
    """Verifies (public, signed) pairs on `workers` cores: this thread and `workers - 1` processes."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        ctx = multiprocessing.get_context("fork")
        self._workers = [_Worker(ctx) for _ in range(self.workers - 1)]
        self._queue: deque[VerifyJob] = deque()
        self._stop = weakref.finalize(self, _stop_all, self._workers)

    def start(self, items: Pairs) -> VerifyJob:
        """Queue `items` for verification and keep the workers fed; `join` the job later."""
        job = VerifyJob(self, items)
        if not self._workers:
            job.result = verify_all(items)
            return job
        self._queue.append(job)
        self._pump()
        return job

    def _pump(self) -> None:
        for worker in list(self._workers):
            try:
                alive = worker.collect()
                while alive and len(worker.sent) < _IN_FLIGHT and self._queue:
                    job = self._queue.popleft()
                    job.worker = worker
                    worker.sent.append(job)
                    worker.conn.send_bytes(_encode(job.items))
            except OSError:
                alive = False
            if not alive:
                self._lose(worker)

    def _lose(self, worker: _Worker) -> None:
        """A worker died: what it held goes back to the front of the queue."""
        self._workers.remove(worker)
        for job in reversed(worker.sent):
            job.worker = None
            self._queue.appendleft(job)
        worker.sent.clear()
        worker.stop()

    def join(self, job: VerifyJob) -> list[bool]:
        while job.result is None:
            self._pump()
            if job.result is not None:
                break
            if job.worker is None:  # still queued: do it here
                self._queue.remove(job)
                job.result = verify_all(job.items)
            elif self._queue:  # a worker has it: do other queued work meanwhile
                other = self._queue.pop()
                other.result = verify_all(other.items)
            elif not job.worker.collect(block=True):
                self._lose(job.worker)
        return job.result

    def discard(self, job: VerifyJob) -> None:
        if job.worker is None and job.result is None:
            try:
                self._queue.remove(job)
            except ValueError:
                pass

    def __call__(self, items: Pairs, chunk: int = 64) -> list[bool]:
        if not self._workers or len(items) < 2 * chunk:
            return verify_all(items)
        jobs = [self.start(items[i : i + chunk]) for i in range(0, len(items), chunk)]
        results = [job.join() for job in reversed(jobs)]
        return [ok for part in reversed(results) for ok in part]

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> ParallelVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
