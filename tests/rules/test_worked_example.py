"""A founding, three admissions, deposits, transfers, a withdrawal, a passed and an expired
proposal, and a delegation, with every figure worked out by hand in the comments."""

from __future__ import annotations

from communekit import Commune

from commune.log.bodies import (
    ChangeCharterMotion,
    ConfirmPayment,
    Delegate,
    ElectStewardMotion,
    Propose,
    RegisterEnterpriseMotion,
    Transfer,
    Vote,
    Withdraw,
)
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.invariants import bank_equation


def test_a_small_commune_by_hand(commune: Commune) -> None:
    c = commune
    s = c.state
    # Founding: three members at once, no probation; ana is the steward.
    assert sorted(s.tables["members"]) == sorted(c.pub(n) for n in ("ana", "ben", "cy"))
    assert s.stewards == (c.pub("ana"),)
    assert all(s.is_voting_member(c.pub(n)) for n in ("ana", "ben", "cy"))

    # Three admissions through the bakery (ana signs for it) and the workshop (ben).
    c.admit("dee", "bakery", "ana")
    c.admit("eve", "bakery", "ana")
    c.admit("fay", "workshop", "ben")
    for name in ("dee", "eve", "fay"):
        assert c.state.is_member(c.pub(name))
        assert not c.state.is_voting_member(c.pub(name))  # 90 days of probation
    assert c.state.member(c.pub("fay")).enterprise == c.enterprise("workshop")

    # Deposits, confirmed by the steward: ana 500.00, ben 200.00, dee 100.00, the bakery 1,000.00.
    c.fund("ana", 500_00)
    c.fund("ben", 200_00)
    c.fund("dee", 100_00)
    c.fund("ana", 1_000_00, account=c.enterprise("bakery"))
    assert c.state.balance(accounts.BANK) == 1_800_00  # 500 + 200 + 100 + 1,000

    # Transfers: ana -> ben 120.00; ben -> dee 50.25; dee -> the bakery 10.00.
    c.act("ana", Transfer(c.pub("ben"), 120_00))
    c.act("ben", Transfer(c.pub("dee"), 50_25))
    c.act("dee", Transfer(c.enterprise("bakery"), 10_00))
    block = c.settle()
    assert c.refusals(block) == []

    # A withdrawal: ben asks for 100.00; it leaves his account at once, into `withdrawals`.
    w = c.act("ben", Withdraw(100_00, "DE89 3704 0044 0532 0130 00"))
    c.settle()
    assert c.state.claim(accounts.WITHDRAWALS) == 100_00
    assert c.state.balance(accounts.BANK) == 1_800_00  # not paid yet
    c.act("ana", ConfirmPayment(w.id), refs=(w.id,))
    c.settle()
    assert c.state.claim(accounts.WITHDRAWALS) == 0
    # The bank: 1,800.00 - 100.00 = 1,700.00.
    assert c.state.balance(accounts.BANK) == 1_700_00

    assert c.claim("ana") == 380_00  # 500 - 120
    assert c.claim("ben") == 169_75  # 200 + 120 - 50.25 - 100
    assert c.claim("dee") == 140_25  # 100 + 50.25 - 10
    assert c.claim("cy") == 0
    assert c.enterprise_claim("bakery") == 1_010_00  # 1,000 + 10
    # bank = claims + own funds: 1,700.00 = 380 + 169.75 + 140.25 + 1,010 + 0.
    assert bank_equation(c.state) == (1_700_00, 1_700_00, 0)

    # A proposal that passes: a charter change needs 2/3 of the electorate fixed now.
    # The electorate is the voting members: ana, ben, cy (dee, eve, fay are on probation) = 3;
    # 2/3 of 3 = 2 votes.
    now = c.world.clock.now_ms()
    charter = c.act("ana", Propose(ChangeCharterMotion("probation_days", "30"), now + 7 * DAY_MS))
    c.settle()
    p = c.state.tables["proposals"][charter.id]
    assert (p.electorate, p.needed, p.status) == (3, 2, "open")
    c.act("ana", Vote(charter.id, "yes"))
    c.settle()
    assert c.state.tables["proposals"][charter.id].status == "open"  # 1 of 2
    c.act("ben", Vote(charter.id, "yes"))
    c.settle()
    p = c.state.tables["proposals"][charter.id]
    assert (p.status, p.yes, p.no) == ("passed", 2, 0)  # passed at once, before its deadline
    assert c.state.charter.probation_days == 30

    # A proposal that expires: electing ben steward needs a majority of 3 = 2; only cy votes.
    now = c.world.clock.now_ms()
    elect = c.act("ben", Propose(ElectStewardMotion(c.pub("ben")), now + 1 * DAY_MS))
    c.settle()
    c.act("cy", Vote(elect.id, "yes"))
    c.settle()
    assert c.state.tables["proposals"][elect.id].status == "open"
    c.pass_days(2)
    c.settle()  # the first block past the deadline closes it
    p = c.state.tables["proposals"][elect.id]
    assert (p.status, p.yes, p.needed) == ("expired", 1, 2)
    assert c.state.stewards == (c.pub("ana"),)

    # A delegation: cy gives her vote on enterprises to ben; ben's yes then counts twice.
    c.act("cy", Delegate("enterprises", c.pub("ben")))
    now = c.world.clock.now_ms()
    motion = RegisterEnterpriseMotion("print shop", (c.pub("cy"),), 1)
    reg = c.act("ben", Propose(motion, now + 7 * DAY_MS))
    c.settle()
    assert c.state.tables["proposals"][reg.id].needed == 2  # majority of 3
    c.act("ben", Vote(reg.id, "yes"))
    c.settle()
    p = c.state.tables["proposals"][reg.id]
    assert (p.status, p.yes, p.direct_yes) == ("passed", 2, 1)  # ben's own + cy's through him
    names = {e.name for e in c.state.tables["enterprises"].values()}
    assert names == {"bakery", "workshop", "print shop"}

    # The postings of the whole story balance transaction by transaction.
    postings = c.world.nodes["peer"].state.postings()
    by_txn: dict[tuple[int, int], int] = {}
    for height, txn, _line, _account, amount, _memo in postings:
        by_txn[(height, txn)] = by_txn.get((height, txn), 0) + amount
    assert by_txn and set(by_txn.values()) == {0}


def test_own_vote_overrides_delegation(commune: Commune) -> None:
    c = commune
    c.act("cy", Delegate("all", c.pub("ben")))
    now = c.world.clock.now_ms()
    prop = c.act("ana", Propose(ChangeCharterMotion("grace_periods", "2"), now + DAY_MS))
    c.settle()
    c.act("cy", Vote(prop.id, "no"))
    c.settle()
    c.act("ben", Vote(prop.id, "yes"))
    c.settle()
    p = c.state.tables["proposals"][prop.id]
    # ben yes, cy no (her own vote, not ben's): 1 yes of the 2 needed.
    assert (p.status, p.direct_yes, p.direct_no) == ("open", 1, 1)


def test_a_proposal_passes_as_soon_as_its_threshold_is_reached(commune: Commune) -> None:
    c = commune
    c.act("cy", Delegate("all", c.pub("ben")))
    now = c.world.clock.now_ms()
    prop = c.act("ana", Propose(ChangeCharterMotion("grace_periods", "2"), now + DAY_MS))
    c.settle()
    c.act("ben", Vote(prop.id, "yes"))
    c.act("cy", Vote(prop.id, "no"))
    block = c.settle()
    # Ben's vote is taken in first (earlier claimed time): with cy's delegated vote it reaches
    # 2 of 2 and the proposal passes there; cy's own vote then finds it closed.
    assert c.state.tables["proposals"][prop.id].status == "passed"
    assert c.state.charter.grace_periods == 2
    assert c.refusals(block) == ["proposal_closed"]


def test_revoked_delegation_no_longer_counts(commune: Commune) -> None:
    c = commune
    c.act("cy", Delegate("charter", c.pub("ben")))
    c.act("cy", Delegate("charter", b""))
    now = c.world.clock.now_ms()
    prop = c.act("ana", Propose(ChangeCharterMotion("grace_periods", "2"), now + DAY_MS))
    c.settle()
    c.act("ben", Vote(prop.id, "yes"))
    c.settle()
    p = c.state.tables["proposals"][prop.id]
    assert (p.status, p.direct_yes) == ("open", 1)  # 1 of 2: cy's vote no longer follows ben's


def test_a_profile_names_a_participant_and_nobody_else(commune: Commune) -> None:
    from commune.log.bodies import Profile
    from commune.state.reports import member_statement

    c = commune
    c.admit("dee")
    c.act("dee", Profile("Dee (Bakery)", ("127.0.0.1:7403",)))
    c.act("zed", Profile("Zed the stranger"))
    c.settle()
    assert c.state.tables["names"] == {c.pub("dee"): "Dee (Bakery)"}
    assert member_statement(c.world.nodes["peer"].state, c.pub("dee")).name == "Dee (Bakery)"
