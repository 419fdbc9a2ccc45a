"""The parallel verifier: the same answers as verify_all, on worker processes that can die."""

from __future__ import annotations

import os
import signal

import pytest

from commune.core.keys import SecretKey, verify_all
from commune.core.verifier import ParallelVerifier

KEY = SecretKey(bytes(range(32)))


def _mixed_items(n: int) -> tuple[list[tuple[bytes, bytes]], list[bool]]:
    """n (public, signed) items: every third has a damaged signature."""
    items, expected = [], []
    for i in range(n):
        signed = KEY.sign(b"entry %d" % i)
        if i % 3 == 1:
            signed = signed[:5] + bytes([signed[5] ^ 1]) + signed[6:]
        items.append((KEY.public, signed))
        expected.append(i % 3 != 1)
    return items, expected


@pytest.mark.parametrize(("workers", "n"), [(2, 200), (2, 301), (3, 257), (4, 64), (2, 63), (8, 500)])
def test_parallel_verifier_matches_verify_all(workers, n):
    items, expected = _mixed_items(n)
    assert sum(expected) not in (0, n)
    pv = ParallelVerifier(workers)
    try:
        got = pv(items)
    finally:
        pv.close()
    assert got == expected
    assert got == verify_all(items)


@pytest.mark.parametrize("workers", [0, 1, -3])
def test_parallel_verifier_with_one_or_fewer_workers_still_verifies(workers):
    items, expected = _mixed_items(200)
    pv = ParallelVerifier(workers)
    assert pv.workers == 1
    assert pv(items) == expected
    pv.close()


def test_parallel_verifier_reusable_and_empty():
    pv = ParallelVerifier(2)
    try:
        assert pv([]) == []
        items, expected = _mixed_items(220)
        assert pv(items) == expected
        assert pv(items[::-1]) == expected[::-1]
    finally:
        pv.close()


def test_jobs_joined_in_any_order_give_their_own_answers():
    items, expected = _mixed_items(640)
    with ParallelVerifier(2) as pv:
        jobs = [pv.start(items[i : i + 64]) for i in range(0, 640, 64)]
        order = [3, 9, 0, 5, 1, 8, 2, 7, 4, 6]
        got = {i: jobs[i].join() for i in order}
    for i in range(10):
        assert got[i] == expected[i * 64 : (i + 1) * 64]


def test_a_killed_worker_loses_no_job():
    items, expected = _mixed_items(1280)
    with ParallelVerifier(3) as pv:
        jobs = [pv.start(items[i : i + 64]) for i in range(0, 1280, 64)]
        victim = pv._workers[0].process
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=10)
        got = [ok for job in jobs for ok in job.join()]
        assert got == expected
        assert pv(items) == expected  # and it goes on working with the workers it has left


def test_close_ends_the_worker_processes():
    pv = ParallelVerifier(3)
    processes = [w.process for w in pv._workers]
    assert all(p.is_alive() for p in processes)
    pv.close()
    assert not any(p.is_alive() for p in processes)


def test_a_discarded_job_is_not_done():
    items, expected = _mixed_items(64 * 8)
    with ParallelVerifier(2) as pv:
        jobs = [pv.start(items[i : i + 64]) for i in range(0, len(items), 64)]
        queued = [job for job in jobs if job.worker is None]
        assert queued, "with two jobs in a worker's hands, the rest wait in the queue"
        for job in queued:
            job.discard()
        assert not pv._queue
        for job in jobs:
            if job not in queued:
                assert job.join() == expected[jobs.index(job) * 64 : (jobs.index(job) + 1) * 64]
        assert all(job.result is None for job in queued)
