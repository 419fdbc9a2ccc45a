"""Clocks: the system clock, a manual clock, and a clock shared by processes through one file."""

from __future__ import annotations

import calendar
import struct
import subprocess
import sys
import threading
import time

import pytest

from commune.core.clock import Clock, ClockError, FileClock, ManualClock, SystemClock
from commune.core.errors import CommuneError

NEW_YEAR_2026_MS = calendar.timegm((2026, 1, 1, 0, 0, 0)) * 1000


# --- SystemClock -------------------------------------------------------------------------------


def test_system_clock_reads_the_time_in_ms():
    before = time.time_ns() // 1_000_000
    now = SystemClock().now_ms()
    after = time.time_ns() // 1_000_000
    assert type(now) is int
    assert before <= now <= after


def test_clocks_satisfy_the_protocol():
    def read(clock: Clock) -> int:
        return clock.now_ms()

    assert read(ManualClock(5)) == 5
    assert read(SystemClock()) > NEW_YEAR_2026_MS - 10 * 365 * 86_400_000


# --- ManualClock -------------------------------------------------------------------------------


def test_manual_clock_starts_at_new_year_2026_by_default():
    assert ManualClock().now_ms() == NEW_YEAR_2026_MS == 1_767_225_600_000


def test_manual_clock_set_and_advance():
    clock = ManualClock(1_000)
    assert clock.now_ms() == 1_000
    clock.set(5_000)
    assert clock.now_ms() == 5_000
    clock.set(5_000)  # standing still is allowed
    assert clock.now_ms() == 5_000
    assert clock.advance(250) == 5_250
    assert clock.now_ms() == 5_250
    assert clock.advance(0) == 5_250


def test_manual_clock_refuses_to_go_backwards_and_stays_put():
    clock = ManualClock(10_000)
    with pytest.raises(ClockError, match="does not go backwards"):
        clock.set(9_999)
    assert clock.now_ms() == 10_000
    with pytest.raises(ClockError, match="does not go backwards"):
        clock.advance(-1)
    assert clock.now_ms() == 10_000


def test_clock_error_is_a_commune_error():
    with pytest.raises(CommuneError) as err:
        ManualClock(10).set(0)
    assert err.value.reason == "bad_clock"


def test_manual_clock_advances_from_many_threads_are_not_lost():
    clock = ManualClock(0)

    def work() -> None:
        for _ in range(2_000):
            clock.advance(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now_ms() == 16_000


# --- FileClock ---------------------------------------------------------------------------------


def test_file_clock_create_read_set_advance(tmp_path):
    clock = FileClock.create(tmp_path / "clock", 1_000)
    try:
        assert clock.now_ms() == 1_000
        clock.set(2_000)
        assert clock.now_ms() == 2_000
        assert clock.advance(500) == 2_500
        assert clock.now_ms() == 2_500
    finally:
        clock.close()


def test_file_clock_file_is_8_bytes_little_endian_ms(tmp_path):
    path = tmp_path / "clock"
    clock = FileClock.create(path, NEW_YEAR_2026_MS)
    try:
        assert path.read_bytes() == struct.pack("<q", NEW_YEAR_2026_MS)
        clock.advance(86_400_000)
        assert struct.unpack("<q", path.read_bytes())[0] == NEW_YEAR_2026_MS + 86_400_000
    finally:
        clock.close()


def test_file_clock_refuses_to_go_backwards(tmp_path):
    clock = FileClock.create(tmp_path / "clock", 1_000)
    try:
        with pytest.raises(ClockError, match="does not go backwards"):
            clock.set(999)
        with pytest.raises(ClockError, match="does not go backwards"):
            clock.advance(-1)
        assert clock.now_ms() == 1_000
    finally:
        clock.close()


def test_two_file_clocks_on_one_path_share_the_time(tmp_path):
    path = tmp_path / "clock"
    driver = FileClock.create(path, 1_000)
    node = FileClock(path)
    try:
        driver.set(5_000)
        assert node.now_ms() == 5_000
        driver.advance(60_000)
        assert node.now_ms() == 65_000
        node.advance(1)  # either side may move it
        assert driver.now_ms() == 65_001
        with pytest.raises(ClockError):
            node.set(65_000)  # backwards relative to what the driver wrote
    finally:
        driver.close()
        node.close()


CHILD_READ = "import sys; from commune.core.clock import FileClock; print(FileClock(sys.argv[1]).now_ms())"
CHILD_ADVANCE = (
    "import sys; from commune.core.clock import FileClock; c = FileClock(sys.argv[1]); "
    "c.advance(int(sys.argv[2])); print(c.now_ms())"
)


def _child(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_file_clock_is_shared_between_processes(tmp_path):
    path = tmp_path / "clock"
    driver = FileClock.create(path, 1_000)
    try:
        driver.set(NEW_YEAR_2026_MS + 123)
        assert _child(CHILD_READ, str(path)) == str(NEW_YEAR_2026_MS + 123)
        # and the other way: a child moves the clock, the parent's open clock sees it
        assert _child(CHILD_ADVANCE, str(path), "1000") == str(NEW_YEAR_2026_MS + 1_123)
        assert driver.now_ms() == NEW_YEAR_2026_MS + 1_123
    finally:
        driver.close()


@pytest.mark.parametrize("size", [0, 1, 7, 9, 16])
def test_file_clock_on_a_wrong_size_file_names_it(tmp_path, size):
    path = tmp_path / "not-a-clock"
    path.write_bytes(b"\x01" * size)
    with pytest.raises(ClockError) as err:
        FileClock(path)
    assert str(path) in err.value.message
    assert "8 bytes" in err.value.message
    assert path.read_bytes() == b"\x01" * size


def test_file_clock_on_a_missing_file_names_it(tmp_path):
    path = tmp_path / "missing"
    with pytest.raises(ClockError) as err:
        FileClock(path)
    assert str(path) in err.value.message
    assert not path.exists()


def test_file_clock_on_a_directory_names_it(tmp_path):
    with pytest.raises(ClockError) as err:
        FileClock(tmp_path)
    assert str(tmp_path) in err.value.message
