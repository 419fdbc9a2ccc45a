"""A small commune for the rules tests, and helpers to read it as a person would.

Founders ana (the steward), ben and cy; ana signs for the bakery, ben for the workshop.
Amounts are in cents (EUR). Every block built through `settle` is followed by a check of
the invariants on the steward's node and, after a sync, on a second node that only applies
blocks it receives.
"""

from __future__ import annotations

from pathlib import Path

from commune.chain.block import Block
from commune.log.bodies import Accept, Attest, Bid, ConfirmDeposit, Deposit, Offer
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.charter import DAY_MS, MONTH_MS, Charter
from commune.rules.invariants import violations
from commune.rules.model import CommuneState
from commune.sim.world import World

FOUNDERS = ["ana", "ben", "cy"]
ENTERPRISES = {"bakery": ["ana"], "workshop": ["ben"]}


class Commune:
    """A World with the steward's node ("ana") and a checking node ("peer")."""

    def __init__(self, directory: Path | None, charter: Charter | None = None) -> None:
        self.world = World(
            directory,
            FOUNDERS,
            enterprises=ENTERPRISES,
            steward="ana",
            nodes=["ana", "peer"],
            charter=charter or Charter(name="Test Commune", currency="EUR"),
        )
        self.blocks: list[Block] = []

    @property
    def state(self) -> CommuneState:
        return self.world.nodes["ana"].state.state

    @property
    def peer(self) -> CommuneState:
        return self.world.nodes["peer"].state.state

    def pub(self, name: str) -> bytes:
        return self.world.pub(name)

    def enterprise(self, name: str) -> bytes:
        return self.world.enterprise_ids[name]

    def act(self, person: str, body, refs: tuple[bytes, ...] = ()) -> Entry:
        self.world.clock.advance(1_000)
        return self.world.act(person, body, refs)

    def settle(self) -> Block:
        """The steward takes in what it holds; the peer receives the block; invariants hold on both."""
        self.world.clock.advance(1_000)
        block = self.world.block()
        self.blocks.append(block)
        self.world.sync("ana", "peer")
        for state in (self.state, self.peer):
            assert violations(state) == []
        assert self.world.nodes["peer"].state.digest() == self.world.nodes["ana"].state.digest()
        return block

    def pass_days(self, days: int) -> None:
        self.world.clock.advance(days * DAY_MS)

    def claim(self, name: str) -> int:
        return self.state.claim(accounts.participant_account(self.pub(name)))

    def enterprise_claim(self, name: str) -> int:
        return self.enterprise_claim_of(self.enterprise(name))

    def enterprise_claim_of(self, enterprise: bytes) -> int:
        return self.state.claim(accounts.enterprise_account(enterprise))

    def refusals(self, block: Block) -> list[str]:
        return [e.reason for e in block.decoded().effects if type(e).__name__ == "Refuse"]

    def admit(self, person: str, enterprise: str = "bakery", signer: str = "ana") -> None:
        """`signer` attests `person` works at `enterprise`; the person accepts; a block admits them."""
        att = self.act(signer, Attest(self.enterprise(enterprise), self.pub(person)))
        self.settle()
        self.act(person, Accept(att.id), refs=(att.id,))
        self.settle()

    def fund(self, person: str, amount: int, account: bytes | None = None) -> None:
        """`person` notifies a deposit; the steward confirms it; both taken in."""
        dep = self.act(person, Deposit(account or self.pub(person), amount))
        self.settle()
        self.act("ana", ConfirmDeposit(dep.id, amount), refs=(dep.id,))
        self.settle()


#: Tables that only record that an entry was taken in (the feed position, the event counter,
#: the chain's block index); everything else is what a refused entry must leave unchanged.
BOOKKEEPING = {"included", "meta", "blocks"}


def substance(state: CommuneState) -> dict[str, bytes]:
    """The digest of each table a refused entry must not change."""
    from commune.state.digest import table_digests

    return {name: d for name, d in table_digests(state).items() if name not in BOOKKEEPING}


#: A small asset whose figures can be followed by hand (tests/rules/test_rent_and_debt_service.py):
#: P = 1,200.00 in 12 bonds of 100.00, T = 12 months on a lease of 24, R = 110.00, c = 5.00.
SMALL = dict(
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


def rented(c: Commune) -> bytes:
    """Fund, offer, bid and clear; return the asset id. The clearing falls in period 1."""
    c.fund("ana", 600_00)
    c.fund("cy", 600_00)
    c.fund("ben", 2_000_00, account=c.enterprise("workshop"))
    o = c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    c.act("ana", Bid(o.id, 6, 3, 50))
    c.act("cy", Bid(o.id, 6, 3, 50))
    c.settle()
    c.pass_days(2)
    c.settle()
    asset = c.state.tables["assets"][o.id]
    assert asset.state == "rented" and asset.first_period == 2
    return o.id


def to_end_of_period(c: Commune, period: int) -> None:
    """Move the clock just past the end of `period` and settle."""
    end = c.world.genesis.time_ms + period * MONTH_MS
    c.world.clock.set(max(c.world.clock.now_ms(), end + 1))
    c.settle()
