"""A small commune for the rules tests, and helpers to read it as a person would.

Founders ana (the steward), ben and cy; ana signs for the bakery, ben for the workshop.
Amounts are in cents (EUR). Every block built through `settle` is followed by a check of
the invariants on the steward's node and, after a sync, on a second node that only applies
blocks it receives.
"""

from __future__ import annotations

from pathlib import Path

from commune.chain.block import Block
from commune.log.bodies import Accept, Attest, ConfirmDeposit, Deposit
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.charter import DAY_MS, Charter
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
        return self.state.claim(accounts.enterprise_account(self.enterprise(name)))

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
