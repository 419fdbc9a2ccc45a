"""A small LAN of real network hosts made from Linux network namespaces, for network tests.

Imported by the tests in this folder as ``import netlab`` (pytest puts this folder on sys.path);
it is a helper, not a test file. Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's
``ip``; ask :func:`netns_available` first and skip with the reason it gives.

Layout of ``Lan(n)``::

    hub namespace  <tag>-hub : bridge <tag>b, and the hub ends <tag>v<i> of the veth pairs
    host namespace <tag>-h<i>: lo, and the host end <tag>e<i> with 10.77.0.<i+1>/24

Everything is created inside namespaces the Lan creates (nothing in the namespace the tests run
in), and all traffic between hosts stays inside them. ``close()`` (also run by ``__exit__`` and,
as a fallback, at interpreter exit) kills the processes started in the hosts and deletes exactly
the namespaces and interfaces this Lan created, identified by name and by namespace inode.

Cutting is done on the hub side, so the hosts never see their own link change (unless asked
with ``cut(i, link_down=True)``): a cut or partitioned host keeps its address and an up link,
and its packets simply go nowhere, like a cable pulled somewhere far away.

Link-level cuts (``cut_link``) are not implemented: they need nftables or iptables inside the
host namespaces, and neither was installed on this project's machines when this was written. ``partition``
does not need them: it moves each group's hosts onto a bridge of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

#: The subnet every Lan uses (each Lan in its own namespaces, so Lans never clash).
SUBNET = "10.77.0.0/24"
#: Most hosts one Lan can have (10.77.0.1 .. 10.77.0.254).
MAX_HOSTS = 254
#: Longest interface name Linux accepts (IFNAMSIZ - 1).
IFNAMSIZ = 15

_counter = itertools.count(1)
_open_lans: list[Lan] = []
_NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _new_tag() -> str:
    """A short name unique to this process and call: 'n' + pid + '-' + counter, in base 36."""
    return f"n{_b36(os.getpid())}-{_b36(next(_counter))}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _ns_inode(name: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the namespace mounted at /run/netns/<name>, or None if there is none."""
    try:
        st = os.stat(f"/run/netns/{name}")
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _pids_in(inodes: set[tuple[int, int]]) -> list[int]:
    """Pids of the live processes whose network namespace is one of `inodes`."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue  # gone, a zombie, or a kernel thread
        if (st.st_dev, st.st_ino) in inodes:
            pids.append(int(entry.name))
    return pids


@functools.cache
def netns_available() -> str | None:
    """None if network namespaces with a bridge and veth pairs can be made here, else why not."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux, not {sys.platform}"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"{_new_tag()}-probe"
    try:
        r = _ip("netns", "add", probe, check=False)
        if r.returncode != 0:
            return f"`ip netns add` does not work here: {r.stderr.strip() or r.returncode}"
        try:
            for args in (
                ("link", "add", "pb", "type", "bridge"),
                ("link", "add", "pv", "type", "veth", "peer", "name", "pe"),
                ("link", "set", "pv", "master", "pb"),
            ):
                r = _ip("-n", probe, *args, check=False)
                if r.returncode != 0:
                    return f"`ip link {' '.join(args[1:])}` in a namespace fails: {r.stderr.strip()}"
        finally:
            _ip("netns", "del", probe, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return f"cannot run `ip`: {e}"
    return None


class Lan:
    """n hosts (network namespaces) on one Ethernet switch (a bridge in a hub namespace).

    Host i (0-based) has address ``10.77.0.{i+1}/24`` on interface ``ifname(i)``, ``lo`` up, a
    route for multicast (224.0.0.0/4) on the LAN interface, and no default route. The bridge
    forwards immediately (no STP) and floods multicast (no IGMP snooping), so mDNS works.

    Use as a context manager, or call :meth:`close` yourself; it is idempotent.
    """

    def __init__(self, n: int, prefix: str | None = None, *, grace: float = 1.0) -> None:
        """Make the LAN. `prefix` replaces the generated unique tag (the default, 'n<pid>-<k>'
        in base 36, is unique per process and Lan); a prefix of your own must be unique too.
        `grace` is how long close() waits after SIGTERM before SIGKILL."""
        if not 1 <= n <= MAX_HOSTS:
            raise ValueError(f"a Lan has 1..{MAX_HOSTS} hosts, not {n}")
        tag = _new_tag() if prefix is None else prefix
        longest = len(tag) + 1 + len(str(n - 1))
        if not _NAME_OK.fullmatch(tag) or longest > IFNAMSIZ:
            raise ValueError(
                f"prefix {tag!r} must be letters, digits, '_' or '-' and short enough that "
                f"'{tag}v{n - 1}' fits in {IFNAMSIZ} characters"
            )
        self.n = n
        self.tag = tag
        self.grace = grace
        #: Name of the hub namespace, and of each host's namespace.
        self.hub = f"{tag}-hub"
        self.hosts = [f"{tag}-h{i}" for i in range(n)]
        self.bridge = f"{tag}b"
        self._owner = os.getpid()
        self._closed = False
        self._created: dict[str, tuple[int, int]] = {}  # namespace name -> inode, in creation order
        self._extra_bridges: list[str] = []  # group bridges in the hub (besides self.bridge)
        self._procs: list[subprocess.Popen[Any]] = []
        self._group_bridge = [self.bridge] * n  # where host i's port belongs when not cut
        self._detached: set[int] = set()  # cut: port out of every bridge
        self._down: set[int] = set()  # cut with link_down: hub end down
        _open_lans.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- construction ----------------------------------------------------------------------

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)  # fails if the name exists: we never adopt a namespace
        inode = _ns_inode(name)
        if inode is None:
            raise RuntimeError(f"namespace {name} vanished right after `ip netns add`")
        self._created[name] = inode

    def _build(self) -> None:
        hub = self.hub
        self._add_ns(hub)
        _ip("-n", hub, "link", "add", self.bridge, "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
        _ip("-n", hub, "link", "set", self.bridge, "up")
        for i, host in enumerate(self.hosts):
            self._add_ns(host)
            port, eth = self.port(i), self.ifname(i)
            _ip("-n", host, "link", "set", "lo", "up")
            _ip("-n", hub, "link", "add", port, "type", "veth", "peer", "name", eth, "netns", host)
            _ip("-n", hub, "link", "set", port, "master", self.bridge, "up")
            _ip("-n", host, "addr", "add", f"{self.address(i)}/24", "dev", eth)
            _ip("-n", host, "link", "set", eth, "up")
            _ip("-n", host, "route", "add", "224.0.0.0/4", "dev", eth)

    # -- names -----------------------------------------------------------------------------

    def _check(self, i: int) -> int:
        if not (isinstance(i, int) and 0 <= i < self.n):
            raise IndexError(f"no host {i!r} in a Lan of {self.n}")
        return i

    def address(self, i: int) -> str:
        """Host i's IPv4 address (no prefix length): 10.77.0.{i+1}."""
        return f"10.77.0.{self._check(i) + 1}"

    def ifname(self, i: int) -> str:
        """Name of host i's LAN interface (inside host i's namespace)."""
        return f"{self.tag}e{self._check(i)}"

    def port(self, i: int) -> str:
        """Name of the hub end of host i's veth pair (inside the hub namespace)."""
        return f"{self.tag}v{self._check(i)}"

    def netns(self, i: int) -> str:
        """Name of host i's network namespace (for `ip netns exec` or `ip -n`)."""
        return self.hosts[self._check(i)]

    # -- cutting ---------------------------------------------------------------------------

    def _apply(self, i: int) -> None:
        """Put host i's hub port where its state says: out of every bridge if cut, else on its
        group's bridge; down if cut with link_down, else up."""
        port = self.port(i)
        if i in self._detached:
            _ip("-n", self.hub, "link", "set", port, "nomaster")
        else:
            _ip("-n", self.hub, "link", "set", port, "master", self._group_bridge[i])
        _ip("-n", self.hub, "link", "set", port, "down" if i in self._down else "up")

    def cut(self, i: int, *, link_down: bool = False) -> None:
        """Disconnect host i from everyone: its hub port leaves the bridge, so its frames go
        nowhere and nothing reaches it. Host i's own link stays up (a silent partition), unless
        link_down=True, which also sets the hub end down so host i sees NO-CARRIER."""
        self._check(i)
        self._detached.add(i)
        if link_down:
            self._down.add(i)
        self._apply(i)

    def heal(self, i: int) -> None:
        """Undo cut(i): host i is back on its group's bridge (the main one unless partitioned)."""
        self._check(i)
        self._detached.discard(i)
        self._down.discard(i)
        self._apply(i)

    def cut_link(self, i: int, j: int) -> None:
        """Not implemented: see the module docstring. Use cut(i) or partition(groups)."""
        raise NotImplementedError(
            "cut_link needs nftables or iptables inside the host namespaces, and neither was installed on this "
            "project's machines when netlab was written; cut whole hosts with cut(i), or split the LAN with "
            "partition(groups)"
        )

    def heal_link(self, i: int, j: int) -> None:
        """Not implemented, like cut_link."""
        raise NotImplementedError("heal_link: link-level cuts are not implemented (see cut_link)")

    def partition(self, groups: Sequence[Sequence[int]]) -> None:
        """Split the LAN: hosts in the same group reach each other, hosts in different groups do
        not. Every host must be in exactly one group. Replaces any earlier partition; hosts that
        are cut stay cut (and join their group on heal). Group 0 stays on the main bridge, each
        other group gets a bridge of its own in the hub."""
        seen: list[int] = [self._check(i) for g in groups for i in g]
        if sorted(seen) != list(range(self.n)):
            raise ValueError(f"partition groups must hold each of hosts 0..{self.n - 1} exactly once, not {groups}")
        wanted = [self.bridge] + [f"{self.tag}g{k}" for k in range(1, len(groups))]
        for b in wanted[1:]:
            if b not in self._extra_bridges:
                if len(b) > IFNAMSIZ:
                    raise ValueError(f"too many groups for prefix {self.tag!r}: {b!r} is too long")
                _ip("-n", self.hub, "link", "add", b, "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
                self._extra_bridges.append(b)
                _ip("-n", self.hub, "link", "set", b, "up")
        for k, g in enumerate(groups):
            for i in g:
                if self._group_bridge[i] != wanted[k]:
                    self._group_bridge[i] = wanted[k]
                    self._apply(i)
        self._drop_unused_bridges()

    def _drop_unused_bridges(self) -> None:
        for b in list(self._extra_bridges):
            if b not in self._group_bridge:
                _ip("-n", self.hub, "link", "del", b)
                self._extra_bridges.remove(b)

    def heal_all(self) -> None:
        """Undo every cut and partition: all hosts on the main bridge, all ports up."""
        for i in range(self.n):
            if self._group_bridge[i] != self.bridge or i in self._detached or i in self._down:
                self._group_bridge[i] = self.bridge
                self._detached.discard(i)
                self._down.discard(i)
                self._apply(i)
        self._drop_unused_bridges()

    # -- processes -------------------------------------------------------------------------

    def popen(self, i: int, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start argv inside host i (``ip netns exec``, which execs it: the Popen's pid is the
        command's own). kw go to subprocess.Popen. The process, and anything it leaves running in
        the Lan's namespaces, is killed by close(), which also closes the Popen's pipes."""
        if self._closed:
            raise RuntimeError("this Lan is closed")
        p = subprocess.Popen(["ip", "netns", "exec", self.netns(i), *argv], **kw)
        self._procs.append(p)
        return p

    def run(self, i: int, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
        """subprocess.run of argv inside host i, for short commands (waited for here)."""
        if self._closed:
            raise RuntimeError("this Lan is closed")
        return subprocess.run(["ip", "netns", "exec", self.netns(i), *argv], **kw)

    # -- teardown --------------------------------------------------------------------------

    def _kill_all(self) -> None:
        """SIGTERM our children and every other process in our namespaces, wait up to `grace`,
        then SIGKILL what is left. Strangers are held by pidfd, so a reused pid is never hit."""
        inodes = set(self._created.values())
        mine = {p.pid for p in self._procs}
        held: list[int] = []  # pidfds of processes in our namespaces that are not our children

        def hold_strays() -> None:
            for pid in _pids_in(inodes) if inodes else []:
                if pid in mine or pid == os.getpid():
                    continue
                try:
                    fd = os.pidfd_open(pid)
                except OSError:
                    continue
                try:  # still the same process, still in one of our namespaces?
                    st = os.stat(f"/proc/{pid}/ns/net")
                    ours = (st.st_dev, st.st_ino) in inodes
                except OSError:
                    ours = False
                if ours:
                    held.append(fd)
                else:
                    os.close(fd)

        def signal_all(sig: int) -> None:
            for p in self._procs:
                if p.poll() is None:
                    with contextlib.suppress(OSError):
                        p.send_signal(sig)
            for fd in held:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(fd, sig)

        def stray_alive(fd: int) -> bool:
            return not select.select([fd], [], [], 0)[0]  # a pidfd turns readable when it exits

        hold_strays()
        signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            if all(p.poll() is not None for p in self._procs) and not any(stray_alive(fd) for fd in held):
                break
            time.sleep(0.02)
        for _ in range(3):  # SIGKILL; and again for anything forked in the meantime
            hold_strays()
            signal_all(signal.SIGKILL)
            for p in self._procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=5)
            for fd in held:
                select.select([fd], [], [], 5)
            for fd in held:
                os.close(fd)
            held.clear()
            if not (inodes and _pids_in(inodes)):
                break
        for p in self._procs:
            for f in (p.stdin, p.stdout, p.stderr):
                if f is not None:
                    with contextlib.suppress(OSError):
                        f.close()

    def close(self) -> None:
        """Kill every process started in the hosts (SIGTERM, then SIGKILL after `grace`) and
        delete every namespace and interface this Lan created, and nothing else. Raises
        RuntimeError, after doing all it can, if something of ours could not be removed."""
        if self._closed or os.getpid() != self._owner:
            return  # already done, or a forked child: the parent's Lan is not ours to remove
        self._closed = True
        problems: list[str] = []
        try:
            self._kill_all()
        except Exception as e:
            problems.append(f"killing processes: {e!r}")
        hub_inode = self._created.get(self.hub)
        if hub_inode is not None and _ns_inode(self.hub) == hub_inode:
            # The interfaces die with their namespaces anyway; deleting them first is belt and braces.
            for name in [*(self.port(i) for i in range(self.n)), *self._extra_bridges, self.bridge]:
                _ip("-n", self.hub, "link", "del", name, check=False)
        for name, inode in reversed(self._created.items()):
            if _ns_inode(name) != inode:
                problems.append(f"namespace {name} is no longer the one we made; left alone")
                continue
            r = _ip("netns", "del", name, check=False)
            if r.returncode != 0 or _ns_inode(name) is not None:
                problems.append(f"ip netns del {name}: {r.stderr.strip()}")
        leftover = _pids_in(set(self._created.values()))
        if leftover:
            problems.append(f"processes still in our namespaces: {leftover}")
        with contextlib.suppress(ValueError):
            _open_lans.remove(self)
        if problems:
            raise RuntimeError(f"Lan {self.tag} close: " + "; ".join(problems))

    def __enter__(self) -> Lan:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Lan {self.tag} n={self.n} {state}>"


@atexit.register
def _close_all() -> None:
    """Fallback for Lans their tests did not close (a crash between creation and `with`)."""
    for lan in list(_open_lans):
        try:
            lan.close()
        except Exception as e:
            print(f"netlab: {e}", file=sys.stderr)
