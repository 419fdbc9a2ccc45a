"""The state store: restart from the stored views with no replay, rebuild from the raw record
to the same digest, and clear errors for a file that is not this commune's."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.chain.genesis import make_genesis
from commune.log.bodies import ConfirmDeposit, Deposit, Note, Transfer
from commune.rules.charter import Charter
from commune.rules.invariants import violations
from commune.sim.world import World
from commune.state.digest import state_digest
from commune.state.store import StateError, StateStore


def _busy_world(directory: Path | None) -> World:
    w = World(directory, ["ana", "ben", "cy"], enterprises={"bakery": ["ana"]}, nodes=["ana"])
    for name, amount in (("ben", 30_00), ("cy", 12_34)):
        dep = w.act(name, Deposit(w.pub(name), amount))
        w.clock.advance(1000)
        w.block()
        w.act("ana", ConfirmDeposit(dep.id, amount), refs=(dep.id,))
        w.clock.advance(1000)
        w.block()
    w.act("ben", Transfer(w.pub("cy"), 5_00))
    w.act("cy", Transfer(w.enterprise_ids["bakery"], 1_00))
    w.clock.advance(1000)
    w.block()
    return w


def test_restart_loads_the_views_without_the_entries(tmp_path: Path) -> None:
    w = _busy_world(tmp_path)
    node = w.nodes["ana"]
    digest, height = node.state.digest(), node.state.height
    node.state.close()
    # No entry store is given: a restart cannot replay anything, it reads the views.
    reopened = StateStore(tmp_path / "ana" / "state.sqlite")
    assert (reopened.digest(), reopened.height) == (digest, height)
    assert reopened.state.claim("p:" + w.pub("cy").hex()) == 12_34 + 5_00 - 1_00
    # ...and it goes on: the next block from the reopened state is checked like any other.
    node.state = reopened
    w.act("cy", Note("back"))
    w.clock.advance(1000)
    w.block()
    assert reopened.height == height + 1
    w.close()


def test_a_restarted_node_and_one_that_never_stopped_agree(tmp_path: Path) -> None:
    w = _busy_world(tmp_path)
    w.add_node("peer")
    w.sync("ana", "peer")
    w.nodes["peer"].state.close()
    w.nodes["peer"].state = StateStore(tmp_path / "peer" / "state.sqlite")
    w.act("ben", Transfer(w.pub("ana"), 2_00))
    w.clock.advance(1000)
    w.block()
    w.sync("ana", "peer")
    assert w.nodes["peer"].state.digest() == w.nodes["ana"].state.digest()
    w.close()


def test_the_cached_digest_is_the_digest(tmp_path: Path) -> None:
    """The store rehashes only tables a block changed; the answer must not depend on that."""
    w = _busy_world(tmp_path)
    store = w.nodes["ana"].state
    for i in range(3):
        assert store.digest() == state_digest(store.state)
        w.act("ben", Transfer(w.pub("cy"), 1 + i))
        w.clock.advance(1000)
        w.block()
    assert store.digest() == state_digest(store.state)
    w.close()


def test_rebuild_from_the_raw_record_gives_the_same_digest(tmp_path: Path) -> None:
    w = _busy_world(tmp_path)
    node = w.nodes["ana"]
    digest = node.state.digest()
    node.state.query("SELECT 1")  # the views are there
    assert node.state.rebuild(node.entries) == digest
    node.state.close()
    assert StateStore(tmp_path / "ana" / "state.sqlite").digest() == digest
    w.close()


def test_another_communes_state_file_is_refused(tmp_path: Path) -> None:
    w = _busy_world(tmp_path)
    w.close()
    key = w.pub("ana")
    other = make_genesis(Charter(name="Elsewhere", currency="EUR"), 0, [(key, "ana")], key)
    with pytest.raises(StateError, match="another commune"):
        StateStore(tmp_path / "ana" / "state.sqlite", other)
    with pytest.raises(StateError, match="holds no commune"):
        StateStore(tmp_path / "empty.sqlite")


def test_a_state_file_of_another_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    import sqlite3

    w = _busy_world(tmp_path)
    w.close()
    path = tmp_path / "ana" / "state.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE record SET value = 1 WHERE name = 'schema'")
    with pytest.raises(StateError, match="another version of commune"):
        StateStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM record WHERE name = 'schema'").fetchone() == (1,)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StateError, match="cannot open the state store"):
        StateStore(path)
    assert path.read_bytes() == b"this is not SQLite" * 100


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["ana", "ben", "cy"]), st.sampled_from(["ana", "ben", "cy"]), st.integers(1, 4_000)),
        max_size=25,
    ),
    st.lists(st.integers(1, 6), max_size=6),
)
def test_random_transfers_never_overdraw_and_always_balance(
    transfers: list[tuple[str, str, int]], cuts: list[int]
) -> None:
    """Random spends, some of them overdrafts, cut into blocks at random: the ledger balances
    after every block, no claim goes below zero, and every refused spend is an overdraft or a
    self-transfer that changed nothing."""
    w = _busy_world(None)
    expected = {name: w.nodes["ana"].state.state.claim("p:" + w.pub(name).hex()) for name in ("ana", "ben", "cy")}
    cuts = sorted({c % (len(transfers) + 1) for c in cuts})
    for i, (payer, payee, amount) in enumerate(transfers):
        w.act(payer, Transfer(w.pub(payee), amount))
        w.clock.advance(10)
        # Replay the rule by hand: a spend counts credits in the chain it names, which is the
        # chain up to the last block; credits in the same block do not count yet.
        if i in cuts:
            w.block()
            assert violations(w.nodes["ana"].state.state) == []
    w.block()
    state = w.nodes["ana"].state.state
    assert violations(state) == []
    total = sum(state.claim("p:" + w.pub(n).hex()) for n in ("ana", "ben", "cy"))
    assert total == sum(expected.values())  # transfers move money, never make or lose it
    w.close()
