"""Acts of an enterprise (rule 6): rent, notice and transfers need k of its signers, and an
expelled enterprise can still pay its rent and move its money out, but take on nothing new.

The asset is communekit's SMALL (P = 1,200.00, T = 12, R = 110.00, c = 5.00, 6 % a year,
level payment 103.28), rented here by a print shop that needs 2 of its 3 signers.
"""

from __future__ import annotations

from communekit import SMALL, Commune, rented, substance, to_end_of_period

from commune.log.bodies import (
    Approve,
    Attest,
    Bid,
    DissolveMotion,
    EnterpriseTransfer,
    ExpelEnterpriseMotion,
    GiveNotice,
    Offer,
    PayRent,
    Propose,
    RegisterEnterpriseMotion,
    ReletBid,
    SetSigners,
    Vote,
    WithdrawOffer,
)
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.governance import enterprise_id


def _pass(c: Commune, motion) -> bytes:
    prop = c.act("cy", Propose(motion, c.world.clock.now_ms() + 7 * DAY_MS))
    c.settle()
    for voter in ("ana", "cy"):
        c.act(voter, Vote(prop.id, "yes"))
    c.settle()
    assert c.state.tables["proposals"][prop.id].status == "passed"
    return prop.id


def _closed(block) -> list[tuple[bytes, str]]:
    return [(e.id, e.outcome) for e in block.decoded().effects if type(e).__name__ == "CloseSpend"]


def shop_rents_small(c: Commune) -> tuple[bytes, bytes]:
    """A 2-of-3 print shop (ana, ben, cy) rents SMALL from period 2; (shop, asset)."""
    pid = _pass(c, RegisterEnterpriseMotion("print shop", (c.pub("ana"), c.pub("ben"), c.pub("cy")), 2))
    shop = enterprise_id(c.state.tables["proposals"][pid])
    c.fund("ana", 600_00)
    c.fund("cy", 600_00)
    c.fund("cy", 1_000_00, account=shop)
    o = c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    c.act("ben", Approve(o.id), (o.id,))  # the shop's offer needs two of its signers
    c.settle()
    c.act("ana", Bid(o.id, 6, 3, 50))
    c.act("cy", Bid(o.id, 6, 3, 50))
    c.settle()
    c.pass_days(2)
    c.settle()
    assert c.state.tables["assets"][o.id].renter == shop
    return shop, o.id


def test_rent_from_a_two_signer_enterprise_waits_for_the_second_signer(commune: Commune) -> None:
    c = commune
    shop, aid = shop_rents_small(c)
    account = accounts.asset_account(aid)
    pay = c.act("cy", PayRent(aid, 110_00))
    c.settle()
    # One signature of two: nothing moves yet; the act waits with its asset and amount.
    assert c.state.claim(account) == 0 and c.enterprise_claim_of(shop) == 1_000_00
    waiting = c.state.tables["spends"][pay.id]
    assert (waiting.act, waiting.asset, waiting.amount, waiting.approvers) == ("rent", aid, 110_00, (c.pub("cy"),))
    c.act("ben", Approve(pay.id), (pay.id,))
    block = c.settle()
    assert _closed(block) == [(pay.id, "paid")]
    assert c.state.claim(account) == 110_00 and c.enterprise_claim_of(shop) == 890_00
    # Period 2 settles from it: 1,200.00 - (103.28 - 6.00 interest) = 1,102.72 outstanding.
    to_end_of_period(c, 2)
    assert c.state.tables["assets"][aid].outstanding == 1_102_72


def test_a_waiting_rent_payment_is_checked_again_when_approved(commune: Commune) -> None:
    """Approved after the shop's money went elsewhere: closed as an overdraft, nothing paid."""
    c = commune
    shop, aid = shop_rents_small(c)
    pay = c.act("cy", PayRent(aid, 600_00))
    out = c.act("ana", EnterpriseTransfer(shop, c.pub("ana"), 500_00, "wages"))
    c.settle()
    c.act("ben", Approve(out.id), (out.id,))
    c.settle()
    assert c.enterprise_claim_of(shop) == 500_00
    c.act("ben", Approve(pay.id), (pay.id,))
    block = c.settle()
    assert _closed(block) == [(pay.id, "overdraft")]
    assert c.state.claim(accounts.asset_account(aid)) == 0 and c.enterprise_claim_of(shop) == 500_00


def test_rent_for_an_asset_not_rented_is_refused_when_written(commune: Commune) -> None:
    c = commune
    shop, _aid = shop_rents_small(c)
    other = c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    c.act("ana", Approve(other.id), (other.id,))
    c.settle()
    before = substance(c.state)
    c.act("cy", PayRent(other.id, 110_00))  # its auction is open: no rent is due
    assert c.refusals(c.settle()) == ["not_rented"]
    assert substance(c.state) == before and not c.state.tables["spends"]


def test_notice_from_a_two_signer_enterprise(commune: Commune) -> None:
    c = commune
    _shop, aid = shop_rents_small(c)
    pay = c.act("cy", PayRent(aid, 110_00))
    notice = c.act("cy", GiveNotice(aid))
    c.settle()
    assert not c.state.tables["assets"][aid].notice  # one signer of two is not the shop
    c.act("ana", Approve(pay.id), (pay.id,))
    c.act("ben", Approve(notice.id), (notice.id,))
    block = c.settle()
    assert _closed(block) == [(pay.id, "paid"), (notice.id, "given")]
    assert c.state.tables["assets"][aid].notice
    to_end_of_period(c, 2)  # the period is paid; the rental ends after it
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.arrears, asset.outstanding) == ("reletting", 0, 1_102_72)


def test_an_expelled_enterprise_pays_its_rent_and_moves_its_money_but_takes_on_nothing_new(
    commune: Commune,
) -> None:
    c = commune
    aid = rented(c)  # the workshop (ben) rents SMALL and holds 2,000.00
    _pass(c, ExpelEnterpriseMotion(c.enterprise("workshop")))
    assert not c.state.enterprise(c.enterprise("workshop")).active
    # Its rental runs on, and it pays for it.
    c.act("ben", PayRent(aid, 110_00))
    c.settle()
    assert c.state.claim(accounts.asset_account(aid)) == 110_00
    # Its money can leave its account...
    c.act("ben", EnterpriseTransfer(c.enterprise("workshop"), c.pub("ben"), 1_000_00, "closing down"))
    c.settle()
    assert c.enterprise_claim("workshop") == 2_000_00 - 110_00 - 1_000_00 and c.claim("ben") == 1_000_00
    # ...but it can offer nothing new, nor vouch for a new worker.
    before = substance(c.state)
    c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.act("ben", Attest(c.enterprise("workshop"), c.pub("dee")))
    assert c.refusals(c.settle()) == ["unknown_enterprise", "unknown_enterprise"]
    assert substance(c.state) == before
    # And its notice ends its rental like anyone's.
    c.act("ben", GiveNotice(aid))
    c.settle()
    to_end_of_period(c, 2)
    assert c.state.tables["assets"][aid].state == "reletting"


def test_a_dissolved_commune_takes_in_rent_with_its_approvals_and_no_other_act(commune: Commune) -> None:
    """Dissolved (all three founders vote yes), the commune still settles its rentals: the shop's
    rent, needing two signers, is paid; a transfer waiting from before cannot be completed."""
    c = commune
    shop, aid = shop_rents_small(c)
    out = c.act("cy", EnterpriseTransfer(shop, c.pub("cy"), 100_00, "wages"))
    c.settle()
    prop = c.act("cy", Propose(DissolveMotion(), c.world.clock.now_ms() + 7 * DAY_MS))
    c.settle()
    for voter in ("ana", "ben", "cy"):
        c.act(voter, Vote(prop.id, "yes"))
    c.settle()
    assert c.state.status != "active"
    pay = c.act("cy", PayRent(aid, 110_00))
    c.settle()
    c.act("ana", Approve(pay.id), (pay.id,))
    c.act("ben", Approve(out.id), (out.id,))
    block = c.settle()
    assert c.refusals(block) == ["commune_closed"]
    assert _closed(block) == [(pay.id, "paid")]
    assert c.state.claim(accounts.asset_account(aid)) == 110_00 and out.id in c.state.tables["spends"]


def test_an_offer_of_a_two_signer_enterprise_opens_its_auction_when_the_second_signs(commune: Commune) -> None:
    """cy's offer waits; ana's approval opens the auction under the id of cy's entry. A second
    offer, approved only after its deadline, is closed undone."""
    c = commune
    pid = _pass(c, RegisterEnterpriseMotion("print shop", (c.pub("ana"), c.pub("ben"), c.pub("cy")), 2))
    shop = enterprise_id(c.state.tables["proposals"][pid])
    before = substance(c.state)
    c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **(SMALL | {"rent": 5_00})))
    assert c.refusals(c.settle()) == ["bad_offer"]  # checked when written: rent below the costs
    assert substance(c.state) == before
    o = c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    late = c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    assert o.id not in c.state.tables["assets"]
    assert c.state.tables["spends"][o.id].act == "offer"
    c.act("ana", Approve(o.id), (o.id,))
    block = c.settle()
    assert _closed(block) == [(o.id, "offered")]
    asset = c.state.tables["assets"][o.id]
    assert (asset.state, asset.renter, asset.opened_height) == ("auction_open", shop, c.state.height)
    c.pass_days(2)
    c.act("ben", Approve(late.id), (late.id,))
    block = c.settle()
    assert _closed(block) == [(late.id, "bad_deadline")] and late.id not in c.state.tables["assets"]


def test_a_two_signer_enterprise_withdraws_its_offer_and_bids_to_re_let_with_two_signatures(commune: Commune) -> None:
    c = commune
    shop, aid = shop_rents_small(c)
    pay = c.act("cy", PayRent(aid, 110_00))
    notice = c.act("cy", GiveNotice(aid))
    other = c.act("cy", Offer(renter=shop, deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    for act in (pay, notice, other):
        c.act("ana", Approve(act.id), (act.id,))
    c.settle()
    withdraw = c.act("cy", WithdrawOffer(other.id))
    c.settle()
    assert c.state.tables["assets"][other.id].state == "auction_open"  # one signature of two
    c.act("ben", Approve(withdraw.id), (withdraw.id,))
    assert _closed(c.settle()) == [(withdraw.id, "withdrawn")]
    assert c.state.tables["assets"][other.id].state == "withdrawn"
    # Period 2 is paid; after it the rental ends on the notice, and the shop bids to rent it again.
    to_end_of_period(c, 2)
    assert c.state.tables["assets"][aid].state == "reletting"
    bid = c.act("cy", ReletBid(aid, shop, 115_00, 12))
    c.settle()
    assert bid.id not in c.state.tables["relet_bids"]
    c.act("ana", Approve(bid.id), (bid.id,))
    assert _closed(c.settle()) == [(bid.id, "placed")]
    placed = c.state.tables["relet_bids"][bid.id]
    assert (placed.bidder, placed.renter, placed.rent) == (c.pub("cy"), shop, 115_00)
    to_end_of_period(c, 4)
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.renter, asset.rent, asset.lease_periods) == ("rented", shop, 115_00, 12)


def test_an_enterprise_names_its_signers_anew(commune: Commune) -> None:
    """The workshop (ben alone) takes cy on as a second signer and needs both from then on."""
    c = commune
    workshop = c.enterprise("workshop")
    c.fund("ben", 300_00, account=workshop)
    before = substance(c.state)
    c.act("ana", SetSigners(workshop, (c.pub("ana"),), 1))  # ana does not sign for the workshop
    c.act("ben", SetSigners(workshop, (c.pub("ben"), c.pub("ben")), 1))
    c.act("ben", SetSigners(workshop, (c.pub("ben"), c.pub("cy")), 3))
    c.act("ben", SetSigners(workshop, (c.pub("ben"), c.pub("zed")), 1))  # zed is nobody here
    assert c.refusals(c.settle()) == ["not_a_signer", "bad_signers", "bad_signers", "bad_signers"]
    assert substance(c.state) == before
    c.act("ben", SetSigners(workshop, (c.pub("ben"), c.pub("cy")), 2))
    c.settle()
    ent = c.state.enterprise(workshop)
    assert (ent.signers, ent.k) == ((c.pub("ben"), c.pub("cy")), 2)
    pay = c.act("ben", EnterpriseTransfer(workshop, c.pub("ben"), 100_00, "wages"))
    c.settle()
    assert c.enterprise_claim("workshop") == 300_00
    c.act("cy", Approve(pay.id), (pay.id,))
    assert _closed(c.settle()) == [(pay.id, "paid")]
    assert c.enterprise_claim("workshop") == 200_00


def test_only_the_present_signers_approvals_count(commune: Commune) -> None:
    """ben opens a payment from the 2-of-3 shop, then leaves its signers: his signature no
    longer counts, so cy's approval is not enough; ana's is the second."""
    c = commune
    pid = _pass(c, RegisterEnterpriseMotion("print shop", (c.pub("ana"), c.pub("ben"), c.pub("cy")), 2))
    shop = enterprise_id(c.state.tables["proposals"][pid])
    c.fund("cy", 100_00, account=shop)
    pay = c.act("ben", EnterpriseTransfer(shop, c.pub("ben"), 40_00))
    change = c.act("cy", SetSigners(shop, (c.pub("ana"), c.pub("cy")), 2))
    c.settle()
    assert c.state.enterprise(shop).k == 2 and c.state.enterprise(shop).signers[1] == c.pub("ben")
    c.act("ana", Approve(change.id), (change.id,))
    assert _closed(c.settle()) == [(change.id, "changed")]
    assert c.state.enterprise(shop).signers == (c.pub("ana"), c.pub("cy"))
    c.act("cy", Approve(pay.id), (pay.id,))
    assert _closed(c.settle()) == []  # ben's signature no longer counts: one of two
    c.act("ana", Approve(pay.id), (pay.id,))
    assert _closed(c.settle()) == [(pay.id, "paid")]
    assert c.enterprise_claim_of(shop) == 60_00 and c.claim("ben") == 40_00
