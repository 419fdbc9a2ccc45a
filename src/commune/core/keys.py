"""Ed25519 keys and signatures (PyNaCl / libsodium).

A signed message is stored and sent in libsodium's combined form: the 64-byte signature
followed by the signed bytes. Verification checks that form as it is, with no copying.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import nacl.bindings
import nacl.exceptions
import nacl.signing

PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
SIGNATURE_BYTES = 64

_open = nacl.bindings.crypto_sign_open
_BadSignature = nacl.exceptions.BadSignatureError


class SecretKey:
    """An Ed25519 signing key. `public` is the 32-byte key everyone else knows it by."""

    __slots__ = ("_signing", "public")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._signing = nacl.signing.SigningKey(seed)
        self.public: bytes = bytes(self._signing.verify_key)

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self) -> bytes:
        return bytes(self._signing)

    def sign(self, message: bytes) -> bytes:
        """The combined form: signature (64 bytes) followed by `message`."""
        return bytes(self._signing.sign(message))

    def __repr__(self) -> str:
        return f"SecretKey(public={self.public.hex()[:12]}…)"


def verify(public: bytes, signed: bytes) -> bool:
    """Whether `signed` (signature + message) carries a valid signature by `public`."""
    if not isinstance(public, bytes) or len(public) != PUBLIC_KEY_BYTES:
        return False  # libsodium would read 32 bytes from wherever `public` starts
    try:
        _open(signed, public)
    except (_BadSignature, ValueError, TypeError):
        return False
    return True


def verify_all(items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
    """Verify (public, signed) pairs one after another on this thread."""
    return [verify(pk, sm) for pk, sm in items]


class VerifyJob:
    """Verification of some pairs, queued for a worker process; `join` gives the results.

    If no worker has taken it by the time `join` is called, the joining thread takes it back
    and does the work itself, so a caller that joins after doing other work never waits on a
    queue while its own core is idle.
    """

    __slots__ = ("_future", "_items")

    def __init__(self, pool: ProcessPoolExecutor, items: Sequence[tuple[bytes, bytes]]) -> None:
        self._items = items
        self._future = pool.submit(verify_all, items)

    def join(self) -> list[bool]:
        if self._future.cancel():
            return verify_all(self._items)
        return self._future.result()


class ParallelVerifier:
    """Verifies (public, signed) pairs on `workers` cores: this thread and worker processes.

    Worker processes, not threads: libsodium releases the GIL, but a thread that has to take
    the GIL back between signatures waits behind the caller's Python work for a whole switch
    interval, so threads beside a busy caller verify at a fraction of their speed (measured).
    `start` hands work to the workers early so the caller can go on with its own.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool = (
            ProcessPoolExecutor(self.workers - 1, mp_context=multiprocessing.get_context("fork"))
            if self.workers > 1
            else None
        )

    def start(self, items: Sequence[tuple[bytes, bytes]]) -> VerifyJob | list[bool]:
        """Begin verifying `items` in a worker (or at once, with one worker)."""
        if self._pool is None:
            return verify_all(items)
        return VerifyJob(self._pool, items)

    def __call__(self, items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        if self._pool is None or len(items) < 64:
            return verify_all(items)
        step = -(-len(items) // self.workers)
        jobs = [VerifyJob(self._pool, items[i : i + step]) for i in range(step, len(items), step)]
        out = verify_all(items[:step])
        for job in jobs:
            out.extend(job.join())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> ParallelVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
