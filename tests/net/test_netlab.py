"""The namespace LAN of netlab.py, on real network namespaces: reachability, cuts, partitions,
and that close() leaves nothing behind. Skipped where namespaces cannot be made (not root)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import netlab
import pytest

REASON = netlab.netns_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

PORT = 7000
#: How long one connect-and-echo may take before the peer counts as unreachable.
PROBE_TIMEOUT = 0.5

ECHO_SERVER = textwrap.dedent(
    """
    import socket, sys, threading
    srv = socket.create_server(("0.0.0.0", int(sys.argv[1])), reuse_port=False)
    print("ready", flush=True)
    def serve(c):
        with c:
            while data := c.recv(4096):
                c.sendall(data)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """
)

# Tries every target at once; prints {address: true/false} as JSON.
PROBE = textwrap.dedent(
    """
    import json, socket, sys, threading
    port, timeout, targets = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    ok = {}
    def probe(addr):
        try:
            with socket.create_connection((addr, port), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(b"ping " + addr.encode())
                ok[addr] = s.recv(100) == b"ping " + addr.encode()
        except OSError:
            ok[addr] = False
    threads = [threading.Thread(target=probe, args=(a,)) for a in targets]
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps(ok))
    """
)


def _probe(lan: netlab.Lan, src: int, dsts: list[int]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", PROBE, str(PORT), str(PROBE_TIMEOUT), *(lan.address(d) for d in dsts)]
    return lan.popen(src, argv, stdout=subprocess.PIPE, text=True)


def _result(lan: netlab.Lan, p: subprocess.Popen[str], dsts: list[int]) -> dict[int, bool]:
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0, out
    got = json.loads(out)
    return {d: got[lan.address(d)] for d in dsts}


def reach(lan: netlab.Lan, src: int, dsts: list[int]) -> dict[int, bool]:
    """Which of dsts' echo servers host src can connect to and get an echo from."""
    return _result(lan, _probe(lan, src, dsts), dsts)


def matrix(lan: netlab.Lan) -> dict[tuple[int, int], bool]:
    """Reachability of every ordered pair of distinct hosts (all sources probing at once)."""
    dsts = {s: [d for d in range(lan.n) if d != s] for s in range(lan.n)}
    probes = {s: _probe(lan, s, dsts[s]) for s in range(lan.n)}
    return {(s, d): ok for s, p in probes.items() for d, ok in _result(lan, p, dsts[s]).items()}


def expect(lan: netlab.Lan, groups: list[list[int]], within: float = 3.0) -> None:
    """Every pair in the same group reaches each other, no pair across groups does. Pairs that
    must connect get until `within` (a healed port may take a moment); the rest are checked once."""
    group_of = {i: k for k, g in enumerate(groups) for i in g}
    want = {(s, d): group_of[s] == group_of[d] for s in range(lan.n) for d in range(lan.n) if s != d}
    deadline = time.monotonic() + within
    while True:
        got = matrix(lan)
        if got == want:
            return
        wrong_way = [p for p in want if got[p] and not want[p]]
        assert not wrong_way, f"reachable but should not be: {wrong_way}"
        assert time.monotonic() < deadline, f"unreachable but should be: {[p for p in want if not got[p]]}"
        time.sleep(0.1)


def namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def start_echo(lan: netlab.Lan, i: int) -> subprocess.Popen[str]:
    p = lan.popen(i, [sys.executable, "-c", ECHO_SERVER, str(PORT)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    return p


def gone(pid: int) -> bool:
    """The process is dead (gone, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_cut_heal_partition_and_close() -> None:
    with netlab.Lan(3) as lan:
        tag = lan.tag
        mine = [ns for ns in namespaces() if ns.startswith(f"{tag}-")]
        assert sorted(mine) == sorted([lan.hub, *lan.hosts])
        assert [lan.address(i) for i in range(3)] == ["10.77.0.1", "10.77.0.2", "10.77.0.3"]
        assert all(len(name) <= netlab.IFNAMSIZ for i in range(3) for name in (lan.ifname(i), lan.port(i)))
        addr = lan.run(1, ["ip", "-4", "-o", "addr", "show", "dev", lan.ifname(1)], capture_output=True, text=True)
        assert "10.77.0.2/24" in addr.stdout
        servers = [start_echo(lan, i) for i in range(3)]

        assert reach(lan, 1, [0]) == {0: True}
        assert reach(lan, 2, [0]) == {0: True}
        expect(lan, [[0, 1, 2]])

        lan.cut(0)
        t = time.monotonic()
        assert reach(lan, 1, [0, 2]) == {0: False, 2: True}
        assert reach(lan, 2, [0, 1]) == {0: False, 1: True}
        assert time.monotonic() - t < 4 * PROBE_TIMEOUT + 2, "an unreachable host should fail fast"

        lan.heal(0)
        expect(lan, [[0, 1, 2]])

        lan.partition([[0, 1], [2]])
        expect(lan, [[0, 1], [2]])

        lan.heal_all()
        expect(lan, [[0, 1, 2]])

        # A cut host stays cut when partitioned, and heal() puts it back into its group.
        lan.partition([[0], [1, 2]])
        lan.cut(2, link_down=True)
        expect(lan, [[0], [1], [2]])
        lan.heal(2)
        expect(lan, [[0], [1, 2]])
        lan.heal_all()
        expect(lan, [[0, 1, 2]])

        with pytest.raises(NotImplementedError, match="nftables or iptables"):
            lan.cut_link(0, 1)
        with pytest.raises(ValueError):
            lan.partition([[0, 1]])  # host 2 in no group
        with pytest.raises(IndexError):
            lan.cut(3)

    assert all(p.poll() is not None for p in servers)
    assert [ns for ns in namespaces() if ns.startswith(f"{tag}-")] == []
    lan.close()  # idempotent


def test_close_kills_stubborn_processes_and_their_children() -> None:
    """A child ignoring SIGTERM gets SIGKILL after the grace; its own child, which popen never
    saw, is killed too, because it is in the Lan's namespace."""
    lan = netlab.Lan(1, grace=0.2)
    try:
        p = lan.popen(0, ["sh", "-c", "trap '' TERM; sleep 300 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        grandchild = int(p.stdout.readline())
        assert not gone(grandchild)
    finally:
        lan.close()
    assert p.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while not gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(grandchild)
    assert not [ns for ns in namespaces() if ns.startswith(f"{lan.tag}-")]


def test_cleanup_when_the_test_body_fails() -> None:
    with pytest.raises(ZeroDivisionError), netlab.Lan(2) as lan:
        lan.popen(1, ["sleep", "300"])
        1 / 0  # noqa: B018
    assert not [ns for ns in namespaces() if ns.startswith(f"{lan.tag}-")]


def test_names_are_unique_and_short_and_a_bad_prefix_creates_nothing() -> None:
    before = namespaces()
    with pytest.raises(ValueError):
        netlab.Lan(2, prefix="much-too-long-a-prefix")
    with pytest.raises(ValueError):
        netlab.Lan(2, prefix="bad/name")
    with pytest.raises(ValueError):
        netlab.Lan(0)
    assert namespaces() == before
    with netlab.Lan(1) as a, netlab.Lan(1) as b:
        assert a.tag != b.tag
        assert int(a.tag[1:].split("-")[0], 36) == os.getpid()  # 'n' + pid + '-' + counter, base 36
        assert a.address(0) == b.address(0) == "10.77.0.1"  # separate namespaces, no clash
