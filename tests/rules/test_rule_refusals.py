"""Every rule refusal: the entry is taken in, the block records its reason by name, and
nothing else changes (balances, roster, proposals, votes: every table but bookkeeping)."""

from __future__ import annotations

import pytest
from communekit import Commune, substance

from commune.log.bodies import (
    Accept,
    Attest,
    ChangeCharterMotion,
    ConfirmDeposit,
    ConfirmPayment,
    Delegate,
    Deposit,
    ElectStewardMotion,
    Leave,
    Propose,
    RegisterInvestor,
    Transfer,
    Vote,
    Withdraw,
)
from commune.rules import engine
from commune.rules.charter import DAY_MS


def refused(c: Commune, person: str, body, refs: tuple[bytes, ...] = ()) -> str:
    """Have `person` sign `body`, settle, and return the one refusal reason (checking no change)."""
    before = substance(c.state)
    c.act(person, body, refs)
    block = c.settle()
    reasons = c.refusals(block)
    assert len(reasons) == 1, reasons
    assert substance(c.state) == before
    return reasons[0]


def open_proposal(c: Commune, days: int = 7) -> bytes:
    now = c.world.clock.now_ms()
    prop = c.act("ana", Propose(ChangeCharterMotion("grace_periods", "2"), now + days * DAY_MS))
    c.settle()
    return prop.id


def test_an_investor_may_not_vote(commune: Commune) -> None:
    c = commune
    c.act("ivy", RegisterInvestor("Ivy Investments"))
    c.settle()
    assert c.state.is_participant(c.pub("ivy")) and not c.state.is_member(c.pub("ivy"))
    prop = open_proposal(c)
    assert refused(c, "ivy", Vote(prop, "yes")) == "not_a_member"


def test_a_stranger_may_not_vote(commune: Commune) -> None:
    prop = open_proposal(commune)
    assert refused(commune, "zed", Vote(prop, "yes")) == "not_a_member"


def test_a_member_on_probation_is_not_in_the_electorate(commune: Commune) -> None:
    c = commune
    c.admit("dee")
    prop = open_proposal(c)
    assert refused(c, "dee", Vote(prop, "yes")) == "not_in_electorate"


def test_a_member_votes_once(commune: Commune) -> None:
    c = commune
    prop = open_proposal(c)
    c.act("ben", Vote(prop, "no"))
    c.settle()
    assert refused(c, "ben", Vote(prop, "yes")) == "already_voted"
    assert c.state.tables["votes"][(prop, c.pub("ben"))] == "no"


def test_a_vote_after_the_deadline(commune: Commune) -> None:
    c = commune
    prop = open_proposal(c, days=1)
    c.pass_days(2)
    c.settle()
    assert c.state.tables["proposals"][prop].status == "expired"
    assert refused(c, "ben", Vote(prop, "yes")) == "proposal_closed"


def test_overdraft(commune: Commune) -> None:
    c = commune
    c.fund("ben", 10_00)
    assert refused(c, "ben", Transfer(c.pub("cy"), 10_01)) == "overdraft"
    assert c.claim("ben") == 10_00


def test_a_spend_counts_only_credits_in_the_chain_it_names(commune: Commune) -> None:
    """DESIGN 3.1: ben's node has not seen the block crediting him, so his spend is an overdraft,
    whatever the steward holds by the time it takes the spend in."""
    c = commune
    c.world.add_node("ben")
    c.world.sync("ana", "ben")
    c.world.home["ben"] = "ben"
    c.fund("cy", 50_00)
    c.act("cy", Transfer(c.pub("ben"), 20_00))
    c.settle()
    assert c.claim("ben") == 20_00  # credited on the chain, but ben's node is behind
    before = substance(c.state)
    c.act("ben", Transfer(c.pub("ana"), 5_00))
    c.world.sync("ben", "ana")
    assert c.refusals(c.settle()) == ["overdraft"]
    assert substance(c.state) == before
    c.world.sync("ana", "ben")  # now ben's node names the block with his credit
    c.act("ben", Transfer(c.pub("ana"), 5_00))
    c.world.sync("ben", "ana")
    assert c.refusals(c.settle()) == []
    assert c.claim("ben") == 15_00


def test_a_withdrawal_above_the_balance(commune: Commune) -> None:
    assert refused(commune, "ben", Withdraw(1, "IBAN")) == "overdraft"


def test_transfer_to_nobody(commune: Commune) -> None:
    c = commune
    c.fund("ben", 10_00)
    assert refused(c, "ben", Transfer(c.pub("zed"), 1_00)) == "unknown_payee"


def test_an_attestation_by_someone_who_is_not_a_signer(commune: Commune) -> None:
    c = commune  # ben signs for the workshop, not the bakery
    assert refused(c, "ben", Attest(c.enterprise("bakery"), c.pub("dee"))) == "not_a_signer"


def test_accepting_someone_elses_attestation(commune: Commune) -> None:
    c = commune
    att = c.act("ana", Attest(c.enterprise("bakery"), c.pub("dee")))
    c.settle()
    assert refused(c, "eve", Accept(att.id), (att.id,)) == "not_your_attestation"


def test_only_a_steward_confirms_deposits(commune: Commune) -> None:
    c = commune
    dep = c.act("ben", Deposit(c.pub("ben"), 10_00))
    c.settle()
    assert refused(c, "ben", ConfirmDeposit(dep.id, 10_00), (dep.id,)) == "not_a_steward"


def test_a_payment_confirmed_twice(commune: Commune) -> None:
    c = commune
    c.fund("ben", 10_00)
    w = c.act("ben", Withdraw(5_00, "IBAN"))
    c.settle()
    c.act("ana", ConfirmPayment(w.id), (w.id,))
    c.settle()
    assert refused(c, "ana", ConfirmPayment(w.id), (w.id,)) == "unknown_withdrawal"


def test_a_proposal_with_a_deadline_too_far(commune: Commune) -> None:
    c = commune
    now = c.world.clock.now_ms()
    body = Propose(ElectStewardMotion(c.pub("ben")), now + 31 * DAY_MS)
    assert refused(c, "ben", body) == "bad_deadline"


def test_a_charter_change_that_could_not_take_effect(commune: Commune) -> None:
    c = commune
    now = c.world.clock.now_ms()
    body = Propose(ChangeCharterMotion("probation_days", "400"), now + DAY_MS)
    assert refused(c, "ben", body) == "bad_motion"


def test_leaving_twice(commune: Commune) -> None:
    c = commune
    c.act("cy", Leave())
    c.settle()
    assert not c.state.is_member(c.pub("cy"))
    assert refused(c, "cy", Leave()) == "not_a_member"


def test_delegating_to_oneself(commune: Commune) -> None:
    assert refused(commune, "ben", Delegate("all", commune.pub("ben"))) == "bad_delegation"


@pytest.mark.parametrize("topic", ["everything", "stewards "])
def test_delegating_an_unknown_topic(commune: Commune, topic: str) -> None:
    assert refused(commune, "ben", Delegate(topic, commune.pub("cy"))) == "bad_delegation"


def test_a_transfer_from_a_frozen_feed(commune: Commune) -> None:
    """Ben signs two different entries at one position on two nodes: the fork proof reaches the
    steward, its block carries the proof, and from then on his feed is frozen everywhere."""
    c = commune
    c.fund("ben", 10_00)
    c.world.add_node("ben")
    c.world.sync("ana", "ben")
    twin = c.act("ben", Transfer(c.pub("cy"), 1_00))  # on the steward's node
    c.world.clock.advance(1)
    other = c.world.act("ben", Transfer(c.pub("ana"), 2_00), node="ben")  # the same seq, elsewhere
    assert other.seq == twin.seq
    report = c.world.nodes["ana"].entries.ingest([other.raw])  # as a peer would send it
    assert report.forks and c.world.nodes["ana"].entries.fork_proofs()
    before = substance(c.state)
    block = c.settle()
    assert [type(e).__name__ for e in block.decoded().effects] == ["Freeze"]
    assert c.state.tables["frozen"][c.pub("ben")] == twin.seq
    assert c.peer.tables["frozen"][c.pub("ben")] == twin.seq
    assert {k: v for k, v in substance(c.state).items() if k != "frozen"} == {
        k: v for k, v in before.items() if k != "frozen"
    }
    assert c.claim("ben") == 10_00
    # Were a block to take in an entry of the frozen feed, the rules refuse it by name.
    state = c.state
    refusal = engine.take_in(state, twin)
    state.rollback()
    assert [e.reason for e in refusal] == ["feed_frozen"]
