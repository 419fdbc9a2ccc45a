"""The state's in-memory indexes (holders by asset, bids by offer, credit heights) always agree
with a scan of their tables, through changes, deletions, rollbacks and a reload."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commune.rules.model import CommuneState, PlacedBid

ASSETS = [bytes([i]) * 32 for i in range(3)]
PEOPLE = [bytes([10 + i]) * 32 for i in range(3)]

op = st.one_of(
    st.tuples(st.just("hold"), st.sampled_from(ASSETS), st.sampled_from(PEOPLE), st.integers(1, 9)),
    st.tuples(st.just("unhold"), st.sampled_from(ASSETS), st.sampled_from(PEOPLE), st.just(0)),
    st.tuples(st.just("bid"), st.sampled_from(ASSETS), st.sampled_from(PEOPLE), st.integers(0, 5)),
    st.tuples(st.just("credit"), st.sampled_from(ASSETS), st.sampled_from(PEOPLE), st.integers(0, 5)),
    st.tuples(st.just("commit"), st.just(b""), st.just(b""), st.just(0)),
    st.tuples(st.just("rollback"), st.just(b""), st.just(b""), st.just(0)),
)


def _scan(state: CommuneState) -> tuple[dict, dict, dict]:
    holders: dict = {}
    for key in state.tables["holdings"]:
        holders.setdefault(key[0], set()).add(key)
    bids: dict = {}
    for key, b in state.tables["bids"].items():
        bids.setdefault(b.offer, set()).add(key)
    heights: dict = {}
    for who, height in state.tables["credits"]:
        heights.setdefault(who, []).append(height)
    return holders, bids, {who: sorted(h) for who, h in heights.items()}


def _check(state: CommuneState) -> None:
    holders, bids, heights = _scan(state)
    for asset in ASSETS:
        assert state.grouped("holdings", asset) == sorted(holders.get(asset, ()))
        assert state.grouped("bids", asset) == sorted(bids.get(asset, ()))
    for who in PEOPLE:
        assert state._credit_heights.get(who, []) == heights.get(who, [])


@given(st.lists(op, max_size=60))
def test_indexes_match_a_scan(ops: list) -> None:
    state = CommuneState()
    for kind, asset, person, n in ops:
        if kind == "hold":
            state.set("holdings", (asset, person), n)
        elif kind == "unhold":
            state.delete("holdings", (asset, person))
        elif kind == "bid":
            state.set("bids", person + bytes([n]), PlacedBid(asset, person, 1, 1, 20, n))
        elif kind == "credit":
            state.set("credits", (person, n), n)
        elif kind == "commit":
            state.commit()
        else:
            state.rollback()
        _check(state)
    reloaded = CommuneState()
    for table in ("holdings", "bids", "credits"):
        reloaded.load(table, state.tables[table].items())
    _check(reloaded)
