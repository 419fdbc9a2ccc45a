"""Every reading of the time goes through a Clock.

Nodes, tests, the demo and simulations inject a clock; no other module reads the system time.
`SystemClock` is the default. `ManualClock` is set and advanced by hand (tests, in-process
simulations). `FileClock` is a simulated clock shared by several processes through one small
file: the demo's nodes all read the time the demo's driver writes there.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

from commune.core.errors import CommuneError


class ClockError(CommuneError):
    reason = "bad_clock"


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """The machine's clock (the default everywhere outside tests, demos and simulations)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to. Thread-safe."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._now

    def set(self, ms: int) -> None:
        if type(ms) is not int:
            raise ClockError("the time is a whole number of milliseconds")
        with self._lock:
            if ms < self._now:
                raise ClockError("a manual clock does not go backwards")
            self._now = ms

    def advance(self, ms: int) -> int:
        if type(ms) is not int:
            raise ClockError("the time is a whole number of milliseconds")
        with self._lock:
            if ms < 0:
                raise ClockError("a manual clock does not go backwards")
            self._now += ms
            return self._now


_FMT = struct.Struct("<q")


class FileClock:
    """A simulated clock shared by processes: 8 bytes (little-endian ms) in one file.

    The driver creates it with `FileClock.create(path, start_ms)` and moves it with `set` or
    `advance`; every node opens the same path and reads the time from it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise ClockError(f"cannot open the shared clock file {self.path}: {exc.strerror}") from None
        try:
            if os.fstat(fd).st_size != _FMT.size:
                raise ClockError(f"{self.path} is not a shared clock file (it must be {_FMT.size} bytes)")
            self._map = mmap.mmap(fd, _FMT.size)
        finally:
            os.close(fd)

    @classmethod
    def create(cls, path: str | os.PathLike[str], start_ms: int) -> FileClock:
        """Make a new shared clock file (never an existing one: a reader may have it mapped)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise ClockError(f"the shared clock file {path} exists already; remove it first") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(_FMT.pack(start_ms))
        return cls(path)

    def now_ms(self) -> int:
        return _FMT.unpack_from(self._map, 0)[0]

    def set(self, ms: int) -> None:
        if ms < self.now_ms():
            raise ClockError("the shared clock does not go backwards")
        _FMT.pack_into(self._map, 0, ms)

    def advance(self, ms: int) -> int:
        self.set(self.now_ms() + ms)
        return self.now_ms()

    def close(self) -> None:
        self._map.close()
