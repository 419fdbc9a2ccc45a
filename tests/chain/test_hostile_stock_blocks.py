"""Hostile blocks about the common stock: a steward's block with a clearing at a wrong rate, a
dividend of a wrong amount, or an acquisition without a cleared auction is refused by every
other node by name (`wrong_effects`), whatever its signature, and changes nothing there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from commune.chain.block import Block, Header, make_block
from commune.chain.refusal import BlockRefused
from commune.log.bodies import Bid, ConfirmDeposit, Deposit, Offer, PayRent
from commune.rules.charter import DAY_MS, MONTH_MS, Charter
from commune.rules.effects import ClearAuction, PayDividend
from commune.sim.world import World, key_of

SLICER = dict(
    description="a bread slicer",
    price=1_200_00,
    rent=110_00,
    costs=5_00,
    lease_periods=24,
    term_periods=12,
    bonds=12,
    vendor_payee="Slicer Ltd",
    valuation=bytes(32),
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(
        tmp_path,
        ["ana", "ben", "cy"],
        enterprises={"workshop": ["ben"]},
        steward="ana",
        nodes=["ana", "peer"],
        charter=Charter(name="Test Commune", currency="EUR", surplus_policy="dividend"),
    )
    yield w
    w.close()


def step(w: World, person: str, body, refs: tuple[bytes, ...] = ()):
    w.clock.advance(1000)
    return w.act(person, body, refs)


def settle(w: World) -> Block:
    w.clock.advance(1000)
    block = w.block()
    w.sync("ana", "peer")
    return block


def fund(w: World, name: str, account: bytes, amount: int) -> None:
    dep = step(w, name, Deposit(account, amount))
    settle(w)
    step(w, "ana", ConfirmDeposit(dep.id, amount), (dep.id,))
    settle(w)


def next_block_withheld(w: World) -> tuple[Block, Header]:
    """The steward builds the next block; the peer gets its entries but not the block."""
    w.clock.advance(1000)
    block = w.block()
    w.sync("ana", "peer", blocks=False)
    return block, block.decoded()


def refused_on_peer(w: World, header: Header, effects: tuple) -> None:
    peer = w.nodes["peer"].state
    before = (peer.digest(), peer.height)
    forged = make_block(msgspec.structs.replace(header, effects=effects), key_of("ana"))
    with pytest.raises(BlockRefused) as refused:
        peer.apply_block(forged.to_bytes(), w.nodes["peer"].entries, w.clock.now_ms())
    assert refused.value.reason == "wrong_effects"
    assert (peer.digest(), peer.height) == before


def offered(w: World) -> bytes:
    fund(w, "ana", w.pub("ana"), 600_00)
    fund(w, "cy", w.pub("cy"), 600_00)
    fund(w, "ben", w.enterprise_ids["workshop"], 500_00)
    o = step(w, "ben", Offer(renter=w.enterprise_ids["workshop"], deadline_ms=w.clock.now_ms() + DAY_MS, **SLICER))
    settle(w)
    step(w, "ana", Bid(o.id, 6, 1, 20))
    step(w, "cy", Bid(o.id, 6, 3, 50))
    settle(w)
    return o.id


def test_a_clearing_at_a_wrong_rate(world: World) -> None:
    w = world
    offered(w)
    w.clock.advance(2 * DAY_MS)
    _, header = next_block_withheld(w)
    (clearing,) = [e for e in header.effects if isinstance(e, ClearAuction)]
    assert (clearing.rate_num, clearing.rate_den) == (3, 50)  # 12 bonds reached at cy's 6 %
    lower = msgspec.structs.replace(clearing, rate_num=1, rate_den=20)  # 5 %: cheaper for the renter
    refused_on_peer(w, header, tuple(lower if e is clearing else e for e in header.effects))


def test_a_dividend_of_a_wrong_amount(world: World) -> None:
    w = world
    aid = offered(w)
    w.clock.advance(2 * DAY_MS)
    settle(w)
    step(w, "ben", PayRent(aid, 110_00))
    w.clock.set(w.genesis.time_ms + 2 * MONTH_MS + 1)
    _, header = next_block_withheld(w)
    dividend = [e for e in header.effects if isinstance(e, PayDividend)][-1]  # period 2's
    assert dividend.members == 3 and dividend.per_member > 0
    richer = msgspec.structs.replace(dividend, per_member=dividend.per_member + 1)
    refused_on_peer(w, header, tuple(richer if e is dividend else e for e in header.effects))


def test_an_acquisition_without_a_cleared_auction(world: World) -> None:
    w = world
    aid = offered(w)
    step(w, "ana", Bid(aid, 1, 1, 20))  # the auction is still open: the next block clears nothing
    _, header = next_block_withheld(w)
    assert not [e for e in header.effects if isinstance(e, ClearAuction)]
    bought = ClearAuction(aid, "cleared", 1, 20, (), 10_328, 2)
    refused_on_peer(w, header, (*header.effects, bought))
