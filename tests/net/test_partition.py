"""Partitions on real hosts: five `commune serve` processes, each in a network namespace of its
own (netlab.py: veth pairs on a bridge), form a commune through invitations; then members act
while hosts are cut off and the network is split into groups, in rounds. After the last heal
every node must hold the same entries, chain and state digest, with every entry on the chain,
and the balances must be what the deposits and transfers made them.

Every act is a `commune` command run inside the acting member's host, as a person would run it;
the polls in between read the data directories, as the read-only commands do. Skipped where
network namespaces cannot be made (not root), saying why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import netlab
import pytest

from commune.node.node import Node
from commune.rules import accounts

REASON = netlab.netns_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"`ip netns` is not permitted here: {REASON}")

PORT = 7722
NAMES = ["Ana", "Ben", "Cem", "Dan", "Eve"]
COMMUNE = [sys.executable, "-m", "commune"]
#: How long one `commune` command may take.
COMMAND_TIMEOUT = 60
#: How long the nodes get to agree after the last heal.
CONVERGE_TIMEOUT = 60


class Commune:
    """Five hosts, one node and one person each: host i is NAMES[i], data directory dirs[i]."""

    def __init__(self, lan: netlab.Lan, tmp: Path) -> None:
        self.lan = lan
        self.tmp = tmp
        self.dirs = [tmp / f"node{i}" for i in range(lan.n)]
        self.keys: list[str] = [""] * lan.n
        self.servers: dict[int, subprocess.Popen[Any]] = {}
        self.env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "1000"}
        for name in ("COMMUNE_DIR", "COMMUNE_CLOCK_FILE"):
            self.env.pop(name, None)
        self.started = time.monotonic()

    def address(self, i: int) -> str:
        return f"{self.lan.address(i)}:{PORT}"

    def peer(self, i: int) -> str:
        return f"{self.keys[i]}@{self.address(i)}"

    # -- commands --------------------------------------------------------------------------

    def run(self, i: int, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """`commune ARGS -d dirs[i]`, inside host i."""
        argv = [*COMMUNE, *args, "-d", str(self.dirs[i])]
        r = self.lan.run(i, argv, capture_output=True, text=True, env=self.env, timeout=COMMAND_TIMEOUT)
        if ok:
            assert r.returncode == 0, f"host {i}: commune {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def json(self, i: int, *args: str) -> Any:
        return json.loads(self.run(i, *args, "--json").stdout)

    def at_once(self, calls: Sequence[tuple[int, Sequence[str]]]) -> list[Any]:
        """Run each (host, args) `--json` command at the same time; their parsed answers."""
        procs = [
            self.lan.popen(
                i,
                [*COMMUNE, *args, "--json", "-d", str(self.dirs[i])],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self.env,
            )
            for i, args in calls
        ]
        answers = []
        for (i, args), p in zip(calls, procs, strict=True):
            out, err = p.communicate(timeout=COMMAND_TIMEOUT)
            assert p.returncode == 0, f"host {i}: commune {' '.join(args)} -> {p.returncode}\n{out}\n{err}"
            answers.append(json.loads(out))
        return answers

    def each(self, hosts: Sequence[int], work: Callable[[int], Any]) -> dict[int, Any]:
        """work(i) for each host i, all at once (a thread each); their results."""
        results: dict[int, Any] = {}
        errors: list[BaseException] = []

        def one_host(i: int) -> None:
            try:
                results[i] = work(i)
            except BaseException as exc:  # reported below, in this thread
                errors.append(exc)

        threads = [threading.Thread(target=one_host, args=(i,)) for i in hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results

    def act(self, acts: dict[int, list[list[str]]]) -> dict[int, list[Any]]:
        """Each host runs its commands one after another (with --json); the hosts all at once."""
        return self.each(list(acts), lambda i: [self.json(i, *command) for command in acts[i]])

    def look(self, i: int) -> dict[str, Any]:
        """What node i holds, read from its stores as the read-only commands do (`members`,
        `pending`, ...), without starting a process: cheap enough to poll. A read while the node
        commits may mix two heights; the polls below just look again."""
        node = Node(self.dirs[i])
        try:
            state = node.state.state
            keys = [bytes.fromhex(k) for k in self.keys if k]
            return {
                "height": node.state.height,
                "digest": node.digest().hex(),
                "entries": node.entries.count(),
                "frontier": {a.hex(): seq for a, seq in node.entries.frontier().items()},
                "included": {a.hex(): seq for a, seq in state.tables["included"].items()},
                "members": sum(state.is_member(k) for k in keys),
                "attested": any(a.person == node.key.public for a in state.tables["attestations"].values()),
                "pending": {pid.hex() for pid in state.tables["pending"]},
                "proposals": {pid.hex(): p.status for pid, p in state.tables["proposals"].items()},
                "balances": [state.claim(accounts.participant_account(k)) for k in keys],
            }
        finally:
            node.close()

    def looks(self, hosts: Sequence[int] = range(5)) -> dict[int, dict[str, Any]]:
        return {i: self.look(i) for i in hosts}

    def phase(self, what: str) -> None:
        print(f"{time.monotonic() - self.started:6.1f} s  {what}")

    # -- nodes -----------------------------------------------------------------------------

    def serve_all(self, peers: dict[int, Sequence[int]]) -> None:
        """Start `commune serve` on each host i, linked to the nodes of peers[i]; wait until all serve."""
        for i, them in peers.items():
            argv = [*COMMUNE, "serve", "-v", "-d", str(self.dirs[i]), "--listen", self.address(i)]
            argv += ["--advertise", self.address(i)]
            for j in them:
                argv += ["--peer", self.peer(j)]
            argv += ["--block-interval", "0.3", "--anti-entropy", "1"]
            log = (self.tmp / f"serve{i}.log").open("w")
            self.servers[i] = self.lan.popen(i, argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
            log.close()
        for i in peers:
            wait_for(lambda i=i: (self.dirs[i] / "serving.json").exists(), f"node {i} to serve", 20, self.servers[i])

    def stop(self) -> dict[int, int | None]:
        """SIGTERM every serving node; their exit codes (None: had to be killed)."""
        for p in self.servers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: dict[int, int | None] = {}
        for i, p in self.servers.items():
            try:
                codes[i] = p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                codes[i] = None
        return codes

    def log(self, i: int) -> list[str]:
        return (self.tmp / f"serve{i}.log").read_text(errors="replace").splitlines()

    def logs(self) -> str:
        out = []
        for i in self.servers:
            out.append(f"--- node {i} ({NAMES[i]}), the end of its log ---")
            out.extend(self.log(i)[-25:])
        return "\n".join(out)


def wait_for(
    check: Callable[[], Any], what: str, timeout: float, proc: subprocess.Popen[Any] | None = None, pause: float = 0.2
) -> Any:
    """Poll `check` until it returns something true; that value. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"waiting for {what}: the process ended with {proc.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}; last seen: {value!r}")
        time.sleep(pause)


def agreed(statuses: dict[int, dict[str, Any]]) -> bool:
    """The nodes hold the same chain and state (and the same entries)."""
    return len({(s["height"], s["digest"], s["entries"]) for s in statuses.values()}) == 1


def summary(statuses: dict[int, dict[str, Any]]) -> dict[int, tuple[int, str, int]]:
    return {i: (s["height"], s["digest"][:12], s["entries"]) for i, s in statuses.items()}


class Ledger:
    """The balances (minor units) the transfers and confirmed deposits should produce."""

    def __init__(self, n: int) -> None:
        self.balance = [0] * n

    def transfer(self, c: Commune, payer: int, payee: int, minor: int) -> list[str]:
        self.balance[payer] -= minor
        self.balance[payee] += minor
        return ["transfer", c.keys[payee], f"{minor // 100}.{minor % 100:02d}"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_members_act_through_cuts_and_partitions_and_all_nodes_converge(tmp_path: Path) -> None:
    lan = netlab.Lan(5)
    c = Commune(lan, tmp_path)
    failed = True
    try:
        _scenario(c, lan)
        codes = c.stop()
        assert codes == dict.fromkeys(range(5), 0), f"the nodes did not stop cleanly on SIGTERM: {codes}"
        assert not any((d / "serving.json").exists() or (d / "node.sock").exists() for d in c.dirs)
        failed = False
    finally:
        if failed and c.servers:
            print(c.logs())
        try:
            c.stop()
        finally:
            lan.close()


def same(views: dict[int, dict[str, Any]], *fields: str) -> bool:
    """The nodes agree on these fields."""
    return len({json.dumps([v[f] for f in fields], sort_keys=True) for v in views.values()}) == 1


def settled(views: dict[int, dict[str, Any]]) -> bool:
    """Every node holds the same entries, chain and state, and the chain took in every entry."""
    return same(views, "height", "digest", "frontier") and all(v["included"] == v["frontier"] for v in views.values())


def _scenario(c: Commune, lan: netlab.Lan) -> None:
    ledger = Ledger(5)

    # -- founding and admission, with the network whole ------------------------------------------
    # No probation, so that the new members vote on what is proposed once they are admitted.
    founding = ["--name", "Partitioned", "--as", NAMES[0], "--enterprise", "Bakery", "--charter", "probation_days=0"]
    c.keys[0] = c.json(0, "found", *founding)["key"]
    c.serve_all({0: []})
    tokens = c.each(range(1, 5), lambda i: c.json(0, "invite", "--address", c.address(0))["token"])

    def join(i: int) -> str:
        out = c.run(i, "join", tokens[i], "--name", NAMES[i]).stdout
        return out.split("your public key: ", 1)[1].split()[0]

    c.keys[1:] = [key for _, key in sorted(c.each(range(1, 5), join).items())]
    # Each joiner links to the founder's node and to one other joiner's; the others it learns
    # from their profiles (--advertise).
    c.serve_all({i: [0, i % 4 + 1] for i in range(1, 5)})
    c.each(range(1, 5), lambda i: c.json(0, "enterprise", "attest", c.keys[i], "--enterprise", "Bakery"))

    def accept(i: int) -> None:
        wait_for(lambda: c.look(i)["attested"], f"{NAMES[i]}'s attestation to reach her node", 30)
        c.json(i, "accept")

    c.each(range(1, 5), accept)
    wait_for(lambda: all(v["members"] == 5 for v in c.looks().values()), "all five to be members", 30)
    c.phase("all five are members")

    amounts = [50_000, 40_000, 30_000, 20_000, 10_000]
    ids = [r[0]["id"] for _, r in sorted(c.act({i: [["deposit", str(amounts[i] // 100)]] for i in range(5)}).items())]
    wait_for(lambda: c.look(0)["pending"] >= set(ids), "the five deposits to be on the chain", 20)
    assert {r["id"] for r in c.json(0, "pending")} == set(ids)
    c.each(range(5), lambda k: c.json(0, "steward", "confirm-deposit", ids[k]))
    ledger.balance = list(amounts)
    mill = c.json(0, "propose", "register-enterprise", "Mill", "--signer", c.keys[1])["id"]
    wait_for(lambda: settled(views := c.looks()) and views[0]["proposals"], "the nodes to agree before the cuts", 30)
    assert c.look(4)["balances"] == ledger.balance
    assert {p["id"]: (p["status"], p["needed"]) for p in c.json(3, "proposals")} == {mill: ("open", 3)}
    c.phase("deposits confirmed, Mill proposed")

    # -- round 1: the steward's side {0, 1} and the far side {2, 3, 4} ---------------------------------
    height = c.look(0)["height"]
    lan.partition([[0, 1], [2, 3, 4]])
    r1 = c.act(
        {
            0: [ledger.transfer(c, 0, 2, 1_000), ["vote", mill, "yes"]],
            1: [ledger.transfer(c, 1, 3, 700)],
            2: [ledger.transfer(c, 2, 4, 500), ["vote", mill, "yes"]],
            3: [ledger.transfer(c, 3, 1, 300), ["vote", mill, "yes"], ["deposit", "20"]],
            4: [ledger.transfer(c, 4, 0, 250)],
        }
    )
    dan_deposit = r1[3][2]["id"]
    # The steward's side goes on making blocks; the far side cannot, and has none of them.
    near = wait_for(
        lambda: settled(views := c.looks([0, 1])) and views[0]["height"] > height and views,
        "the steward's side to take its entries in",
        20,
    )
    far = c.looks([2, 3, 4])
    assert {v["height"] for v in far.values()} == {height}
    assert near[0]["proposals"][mill] == "open", "one yes of the three needed"
    assert dan_deposit not in near[0]["pending"]
    lan.heal_all()
    healed = time.monotonic()
    wait_for(
        lambda: dan_deposit in (view := c.look(0))["pending"] and view["proposals"][mill] == "passed",
        "the far side's deposit and votes to be on the chain",
        40,
    )
    c.phase(f"round 1: the far side's entries were on the chain {time.monotonic() - healed:.1f} s after the heal")

    # -- round 2: the steward's host cut off alone ---------------------------------------------------
    lan.cut(0)
    c.act(
        {
            0: [ledger.transfer(c, 0, 1, 100)],
            1: [ledger.transfer(c, 1, 2, 400)],
            2: [ledger.transfer(c, 2, 1, 100)],
            3: [ledger.transfer(c, 3, 4, 600)],
            4: [ledger.transfer(c, 4, 3, 200)],
        }
    )
    # Without the steward nothing goes on the chain, but the others still pass entries around.
    four = wait_for(
        lambda: same(views := c.looks([1, 2, 3, 4]), "frontier", "height") and views,
        "the entries to spread among the four without the steward",
        20,
    )
    assert c.look(0)["frontier"] != four[1]["frontier"]
    lan.heal(0)
    time.sleep(1)
    c.phase("round 2 done")

    # -- round 3: {0, 2, 4} and {1, 3} ----------------------------------------------------------------
    lan.partition([[0, 2, 4], [1, 3]])
    c.act(
        {
            0: [ledger.transfer(c, 0, 3, 300)],
            1: [ledger.transfer(c, 1, 3, 50)],
            2: [ledger.transfer(c, 2, 0, 200)],
            3: [ledger.transfer(c, 3, 1, 25)],
            4: [ledger.transfer(c, 4, 2, 150)],
        }
    )
    # Ben and Dan were never told each other's address: they learnt it from the profiles.
    wait_for(lambda: same(c.looks([1, 3]), "frontier"), "Ben's and Dan's nodes to share their entries", 20)
    lan.heal_all()
    time.sleep(1)
    c.phase("round 3 done")

    # -- round 4: three sides, the steward alone; then Ben's host cut off from his side too -----------
    lan.partition([[0], [1, 2], [3, 4]])
    c.act(
        {
            0: [["steward", "confirm-deposit", dan_deposit], ledger.transfer(c, 0, 4, 100)],
            1: [ledger.transfer(c, 1, 4, 100)],
            2: [ledger.transfer(c, 2, 3, 100)],
            3: [ledger.transfer(c, 3, 2, 100)],
            4: [ledger.transfer(c, 4, 1, 75), ["deposit", "30"]],
        }
    )
    ledger.balance[3] += 2_000
    lan.cut(1)
    c.act({1: [ledger.transfer(c, 1, 0, 10)], 2: [ledger.transfer(c, 2, 1, 10)]})
    lan.heal_all()
    healed = time.monotonic()
    c.phase("round 4 done")

    # -- after the last heal: one chain, one state ------------------------------------------------------
    wait_for(lambda: settled(c.looks()) and c.look(0)["balances"] == ledger.balance, "the nodes to agree", 60)
    c.phase(f"all five agree {time.monotonic() - healed:.1f} s after the last heal")
    views = c.looks()
    # What each node itself says, over its node.sock, and what the people see on the nodes.
    answers = c.at_once([*((i, ["status"]) for i in range(5)), *((i, ["members"]) for i in range(5))])
    final = dict(enumerate(answers[:5]))
    assert agreed(final), summary(final)
    assert {s["digest"] for s in final.values()} == {views[0]["digest"]}
    assert all(s["serving"] and s["member"] and not s["parked_blocks"] for s in final.values())
    assert sum(ledger.balance) == sum(amounts) + 2_000
    for i, members in enumerate(answers[5:]):
        by_key = {r["key"]: r for r in members}
        assert [by_key[k]["name"] for k in c.keys] == NAMES, f"node {i}"
        assert [by_key[k]["kind"] for k in c.keys] == ["member"] * 5, f"node {i}"
        assert [by_key[k]["balance_minor"] for k in c.keys] == ledger.balance, f"node {i}"
    proposals, pending = c.at_once([(3, ["proposals"]), (3, ["pending"])])
    assert [(p["id"], p["status"]) for p in proposals] == [(mill, "passed")]
    assert [(p["kind"], p["amount_minor"]) for p in pending] == [("deposit", 3_000)]
    assert summary(c.looks()) == summary(views), "a steward builds no block when nothing waits"
    for i in range(5):  # not an error: reported for whoever reads the output
        for line in c.log(i):
            if "dropped peer" in line:
                print(f"node {i}: {line}")
