"""LAN discovery: the TXT filtering on its own, then real zeroconf over real multicast.

The network test never touches the host's network configuration: it makes its own network
namespace, turns multicast on for that namespace's loopback, and runs every node as a child
process inside it (two advertisers of commune A, one of commune B, one browser of commune A).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from commune.net.discovery import SERVICE_TYPE, Discovery, Peer, peer_from_txt

COMMUNE_A = bytes(range(32))
COMMUNE_B = bytes(range(100, 132))
OWN = b"\x01" * 32
K1, K2, KB, KBROWSER = b"\x11" * 32, b"\x22" * 32, b"\xbb" * 32, b"\x33" * 32


def txt(commune: bytes = COMMUNE_A, key: bytes = K1, v: bytes | None = b"1") -> dict[bytes, bytes | None]:
    props: dict[bytes, bytes | None] = {b"commune": commune.hex().encode(), b"key": key.hex().encode()}
    if v is not None:
        props[b"v"] = v
    return props


def parse(props: dict[bytes, bytes | None], addresses=("10.77.0.2",), port: int | None = 7001) -> Peer | None:
    return peer_from_txt(props, tuple(addresses), port, commune=COMMUNE_A, own_key=OWN)


# --- TXT parsing, no network ------------------------------------------------------------------


def test_a_peer_of_our_commune_is_parsed():
    assert parse(txt(key=K1)) == Peer(key=K1, addresses=("10.77.0.2",), port=7001)
    props = txt(key=K2)
    props[b"key"] = K2.hex().upper().encode()
    props[b"extra"] = None  # unknown properties are ignored
    assert parse(props, addresses=("10.0.0.1", "10.0.0.2"), port=1) == Peer(K2, ("10.0.0.1", "10.0.0.2"), 1)


def test_another_commune_and_our_own_key_are_ignored():
    assert parse(txt(commune=COMMUNE_B)) is None
    assert parse(txt(key=OWN)) is None


@pytest.mark.parametrize(
    "change",
    [
        {b"v": None},
        {b"v": b"2"},
        {b"v": b""},
        {b"key": None},
        {b"key": K1.hex()[:62].encode()},
        {b"key": (K1.hex() + "00").encode()},
        {b"key": b"zz" * 32},
        {b"key": "é".encode() * 32},
        {b"commune": None},
        {b"commune": b"g" * 64},
        {b"commune": b"\xff" * 64},
    ],
)
def test_malformed_txt_is_ignored(change, caplog):
    props = txt()
    for k, v in change.items():
        if v is None:
            props.pop(k, None)
        else:
            props[k] = v
    with caplog.at_level("DEBUG", logger="commune.net.discovery"):
        assert parse(props) is None
    assert caplog.records, "a malformed service leaves a debug line"


@pytest.mark.parametrize(("addresses", "port"), [((), 7001), (("10.0.0.1",), None), (("10.0.0.1",), 0)])
def test_a_peer_without_address_or_port_is_ignored(addresses, port):
    assert parse(txt(), addresses=addresses, port=port) is None


def test_bad_arguments_are_refused_before_any_network():
    ok = {"commune": COMMUNE_A, "key": K1, "port": 7001, "interfaces": ["127.0.0.1"], "on_found": print}
    d = Discovery(**ok)
    assert d.instance_name == f"{K1.hex()[:16]}.{SERVICE_TYPE}"
    d.close()  # never started: closing is a no-op, and idempotent
    d.close()
    for bad in (
        {"commune": b"x" * 31},
        {"key": b"x" * 33},
        {"port": 0},
        {"port": 70000},
        {"interfaces": []},
        {"interfaces": ["::1"]},
        {"interfaces": ["localhost"]},
    ):
        with pytest.raises(ValueError):
            Discovery(**{**ok, **bad})


# --- real multicast in a private network namespace --------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, signal, sys, threading, time
    from zeroconf import IPVersion, ServiceBrowser, Zeroconf
    from commune.net.discovery import SERVICE_TYPE, Discovery

    role, commune, key, port = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
    found = []
    disc = Discovery(commune, key, port, ["127.0.0.1"], on_found=found.append)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    t0 = time.monotonic()
    disc.start()
    started = time.monotonic() - t0

    if role == "advertise":
        print(json.dumps({"ready": disc.instance_name, "start_s": started}), flush=True)
        stop.wait()
        disc.close()
        disc.close()
        sys.exit(0)

    # browse: wait for the expected keys through Discovery and, through a plain zeroconf
    # browser, for the other commune's service to be on the wire (so its absence is a filter)
    expect, other_name, timeout = set(sys.argv[5].split(",")), sys.argv[6], float(sys.argv[7])
    seen = set()
    raw = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    ServiceBrowser(raw, SERVICE_TYPE, handlers=[lambda name, **_: seen.add(name)])
    while time.monotonic() - t0 < timeout and not stop.is_set():
        if expect <= {p.key.hex() for p in disc.peers()} and other_name in seen and disc.instance_name in seen:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    time.sleep(0.5)  # a late wrong answer would still show up
    peers = [{"key": p.key.hex(), "addresses": list(p.addresses), "port": p.port} for p in disc.peers()]
    callbacks = sorted(p.key.hex() for p in found)
    raw.close()
    disc.close()
    disc.close()
    print(json.dumps({"peers": peers, "callbacks": callbacks, "seen": sorted(seen), "start_s": started,
                      "found_s": elapsed}), flush=True)
    """
)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with multicast on its loopback; deleted afterwards."""
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) to make a network namespace")
    name = f"commune-disc-{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        reason = f"cannot make a network namespace ({made.stderr.strip() or made.returncode})"
        print(reason)
        pytest.skip(reason)
    try:
        for cmd in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on")):
            r = _ip("-n", name, *cmd)
            assert r.returncode == 0, f"ip -n {name} {' '.join(cmd)}: {r.stderr}"
        yield name
    finally:
        _ip("netns", "del", name)


@pytest.fixture
def spawn(netns: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts discovery nodes inside the namespace; kills each one (by its PID) afterwards."""
    script = tmp_path / "node.py"
    script.write_text(CHILD, encoding="utf-8")
    children: list[subprocess.Popen[str]] = []

    def _spawn(*args: str) -> subprocess.Popen[str]:
        cmd = ["ip", "netns", "exec", netns, sys.executable, str(script), *args]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        children.append(child)
        return child

    try:
        yield _spawn
    finally:
        for child in children:  # `ip netns exec` execs, so this PID is the Python child itself
            if child.poll() is None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=10)


@pytest.mark.slow
def test_nodes_of_a_commune_find_each_other_and_not_another_commune(spawn):
    advertisers = [
        spawn("advertise", COMMUNE_A.hex(), K1.hex(), "7001"),
        spawn("advertise", COMMUNE_A.hex(), K2.hex(), "7002"),
        spawn("advertise", COMMUNE_B.hex(), KB.hex(), "7003"),
    ]
    other = f"{KB.hex()[:16]}.{SERVICE_TYPE}"
    expect = f"{K1.hex()},{K2.hex()}"
    browser = spawn("browse", COMMUNE_A.hex(), KBROWSER.hex(), "7004", expect, other, "20")
    out, err = browser.communicate(timeout=60)
    if browser.returncode != 0 or not out.strip():
        for a in advertisers:
            a.terminate()
        logs = "\n".join(a.communicate(timeout=10)[1] for a in advertisers)
        pytest.fail(f"browser exited {browser.returncode}\n{err}\nadvertisers:\n{logs}")
    result = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(result, indent=1))

    peers = {bytes.fromhex(p["key"]): (tuple(p["addresses"]), p["port"]) for p in result["peers"]}
    assert peers == {K1: (("127.0.0.1",), 7001), K2: (("127.0.0.1",), 7002)}, result
    assert result["callbacks"] == sorted([K1.hex(), K2.hex()]), "on_found once per peer"
    assert other in result["seen"], "commune B's service was on the wire, and filtered out"
    assert f"{KBROWSER.hex()[:16]}.{SERVICE_TYPE}" in result["seen"], "the browser advertised itself too"
    for a in advertisers:
        assert a.poll() is None, f"an advertiser died: {a.communicate()[1]}"
