"""Enterprises registered by proposal with k-of-n signers, their shared account spent in chain
order; an appeal that admits a refused worker; electing and recalling the steward."""

from __future__ import annotations

import pytest
from communekit import Commune, substance

from commune.chain.process import build_block
from commune.chain.refusal import BlockRefused
from commune.core.errors import CommuneError
from commune.log.bodies import (
    Accept,
    AppealAdmissionMotion,
    Approve,
    Attest,
    ElectStewardMotion,
    EnterpriseTransfer,
    ExpelEnterpriseMotion,
    Propose,
    RecallStewardMotion,
    RegisterEnterpriseMotion,
    Vote,
)
from commune.rules.charter import DAY_MS
from commune.rules.governance import enterprise_id


def _pass(c: Commune, proposer: str, motion, voters: tuple[str, ...] = ("ana", "ben")) -> bytes:
    """Propose `motion` and have `voters` vote yes (2 of the 3 founders: a majority)."""
    prop = c.act(proposer, Propose(motion, c.world.clock.now_ms() + 7 * DAY_MS))
    c.settle()
    for voter in voters:
        c.act(voter, Vote(prop.id, "yes"))
    c.settle()
    assert c.state.tables["proposals"][prop.id].status == "passed"
    return prop.id


def test_a_two_of_three_enterprise_spends_only_with_two_signers(commune: Commune) -> None:
    c = commune
    signers = (c.pub("ana"), c.pub("ben"), c.pub("cy"))
    pid = _pass(c, "cy", RegisterEnterpriseMotion("print shop", signers, 2))
    shop = enterprise_id(c.state.tables["proposals"][pid])
    ent = c.state.enterprise(shop)
    assert (ent.name, ent.k, ent.signers) == ("print shop", 2, signers)
    c.fund("cy", 300_00, account=shop)  # cy, a signer, deposits for the shop
    assert c.state.claim("e:" + shop.hex()) == 300_00

    # cy asks to pay ben 100.00 from the shop: one signature of the two needed.
    spend = c.act("cy", EnterpriseTransfer(shop, c.pub("ben"), 100_00, "paper"))
    c.settle()
    assert c.state.claim("e:" + shop.hex()) == 300_00 and c.claim("ben") == 0
    assert c.state.tables["spends"][spend.id].approvers == (c.pub("cy"),)
    # cy cannot approve twice; dee is no signer.
    before = substance(c.state)
    c.act("cy", Approve(spend.id), (spend.id,))
    assert c.refusals(c.settle()) == ["already_approved"]
    assert substance(c.state) == before
    # ana approves: two of three, the shop pays.
    c.act("ana", Approve(spend.id), (spend.id,))
    c.settle()
    assert c.state.claim("e:" + shop.hex()) == 200_00 and c.claim("ben") == 100_00
    assert spend.id not in c.state.tables["spends"]

    # Two spends that each fit but not together: chain order decides, the second is refused.
    first = c.act("ana", EnterpriseTransfer(shop, c.pub("ana"), 150_00))
    second = c.act("cy", EnterpriseTransfer(shop, c.pub("cy"), 150_00))
    c.settle()
    c.act("ben", Approve(first.id), (first.id,))
    c.act("ben", Approve(second.id), (second.id,))
    block = c.settle()
    assert c.state.claim("e:" + shop.hex()) == 50_00
    closed = [e for e in block.decoded().effects if type(e).__name__ == "CloseSpend"]
    assert [(e.id, e.outcome) for e in closed] == [(first.id, "paid"), (second.id, "overdraft")]


def test_an_appeal_admits_a_worker_whose_admission_was_refused(commune: Commune) -> None:
    c = commune
    att = c.act("ana", Attest(c.enterprise("bakery"), c.pub("dee")))
    c.settle()
    _pass(c, "ben", ExpelEnterpriseMotion(c.enterprise("bakery")))
    c.act("dee", Accept(att.id), (att.id,))
    assert c.refusals(c.settle()) == ["unknown_enterprise"]
    assert not c.state.is_member(c.pub("dee"))
    _pass(c, "cy", AppealAdmissionMotion(att.id), voters=("cy", "ben"))
    assert c.state.is_member(c.pub("dee"))
    assert c.state.member(c.pub("dee")).enterprise == c.enterprise("bakery")


def test_electing_a_steward_hands_over_the_chain(commune: Commune) -> None:
    c = commune
    _pass(c, "ben", ElectStewardMotion(c.pub("ben")))
    assert c.state.stewards == (c.pub("ben"),) == c.peer.stewards
    w = c.world
    ana_node, peer = w.nodes["ana"], w.nodes["peer"]
    w.clock.advance(1000)
    # ana's node no longer builds blocks...
    with pytest.raises(CommuneError, match="not a steward"):
        ana_node.state.propose_block(w.key("ana"), ana_node.entries, w.clock.now_ms())
    # ...and a block ana signs anyway is refused by every other node.
    forged = build_block(ana_node.state.state, w.key("ana"), w.clock.now_ms(), [])
    ana_node.state.state.rollback()
    with pytest.raises(BlockRefused) as refused:
        peer.state.apply_block(forged.to_bytes(), peer.entries, w.clock.now_ms())
    assert refused.value.reason == "not_steward"
    # ben's blocks are the chain now.
    w.steward = "ben"
    c.settle()
    assert peer.state.height == ana_node.state.height


def test_recalling_the_steward_names_the_successor(commune: Commune) -> None:
    c = commune
    _pass(c, "ben", RecallStewardMotion(c.pub("ana"), c.pub("cy")))
    assert c.state.stewards == (c.pub("cy"),)
