"""The life of an asset through the `commune` command, as people would run it (issue 6): real
processes on loopback sharing one simulated clock (COMMUNE_CLOCK_FILE), which the test moves
past the auction's deadline and the periods' ends; the steward's `serve` does the rest.

The asset is the small one of tests/rules/communekit.py, whose figures are worked by hand in
tests/rules/test_rent_and_debt_service.py: P = 1,200.00 in 12 bonds of 100.00, T = 12 months
on a lease of 24, R = 110.00, c = 5.00; Ana and Cy each win 6 bonds at 6 % a year (0.5 % a
month), so the level payment is 103.28 (A = P r / (1 - (1+r)^-12), rounded up to a cent).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from commune.core.clock import FileClock
from commune.rules.charter import DAY_MS, MONTH_MS
from node import nodekit
from node.nodekit import Served, as_json, commune, free_port, wait_for

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the genesis, so period p ends at T0 + p months
MINUTE_MS = 60_000


def status(directory: Path) -> dict:
    return as_json("status", "-d", str(directory))


def settled(directory: Path) -> int:
    return as_json("report", "stock", "-d", str(directory))["periods_settled"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_asset_from_offer_to_rent_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FileClock.create(tmp_path / "clock", T0)
    monkeypatch.setitem(nodekit.ENV, "COMMUNE_CLOCK_FILE", str(tmp_path / "clock"))
    ana, cy = tmp_path / "ana", tmp_path / "cy"
    commune(
        "found",
        *("--name", "Test", "--as", "Ana", "--enterprise", "Bakery", "--charter", "probation_days=0"),
        *("-d", str(ana)),
    )
    served = [Served(ana, free_port())]
    try:
        token = commune("invite", "-d", str(ana)).stdout.strip()
        commune("join", token, "--name", "Cy", "--investor", "-d", str(cy))
        served.append(Served(cy, free_port(), "--peer", served[0].peer))

        # Money in: Ana for her bonds and for the Bakery's rent, Cy for his bonds; Ana confirms.
        commune("deposit", "600.00", "--reference", "Ana bonds", "-d", str(ana))
        commune("deposit", "200.00", "--enterprise", "Bakery", "--reference", "Bakery rent", "-d", str(ana))
        commune("deposit", "700.00", "--reference", "Cy bonds", "-d", str(cy))
        wait_for(lambda: len(as_json("pending", "-d", str(ana))) == 3, what="the deposits to reach the steward")
        pending = {p["reference"]: p for p in as_json("pending", "-d", str(ana))}
        assert pending["Bakery rent"]["who"] == "Bakery" and pending["Bakery rent"]["amount_minor"] == 200_00
        for p in pending.values():
            commune("steward", "confirm-deposit", p["id"][:12], "-d", str(ana))
        wait_for(lambda: status(cy)["balance_minor"] == 700_00, what="Cy's credit")

        # The Bakery asks for a bread slicer; the reserve rate comes back at once.
        (tmp_path / "quote.txt").write_text("Slicer Ltd quotes 1,200.00 for one bread slicer\n")
        offer = as_json(
            "offer",
            *("--enterprise", "Bakery", "--description", "a bread slicer", "--price", "1,200.00"),
            *("--rent", "110.00", "--costs", "5.00", "--lease", "24", "--term", "12", "--bonds", "12"),
            *("--vendor-payee", "Slicer Ltd", "--valuation", str(tmp_path / "quote.txt"), "--days", "1"),
            *("-d", str(ana)),
        )
        # r_max is the monthly rate at which 12 payments of R - c = 105.00 repay 1,200.00 (to
        # the rules' grid of 10^-12): the annuity at it is 1,200.00 within a cent.
        r_max = Fraction(offer["reserve_num"], offer["reserve_den"]) / 12
        annuity = 105_00 * (1 - (1 + r_max) ** -12) / r_max
        assert 120_000 - 1 < annuity <= 120_000 + 1
        assert offer["reserve_rate"] == "9.1046%" and offer["deadline_ms"] == T0 + DAY_MS
        wait_for(lambda: len(as_json("auctions", "-d", str(cy))) == 1, what="the offer to reach Cy")

        # Bids as people write rates: "6%" and "3/50" are one rate; a bid above the reserve is
        # refused in one sentence naming the highest rate allowed.
        over = commune("bid", "a bread slicer", "6", "10%", "-d", str(cy), check=False)
        assert over.returncode == 4 and "Traceback" not in over.stderr
        assert "refused (above_reserve_rate)" in over.stderr
        assert "the highest rate this offer allows is 9.1046% a year" in over.stderr
        aid = offer["id"]
        commune("bid", aid[:10], "6", "3/50", "-d", str(cy))
        commune("bid", "a bread slicer", "6", "6%", "-d", str(ana))
        # Cy bids for one more bond and takes it back before the deadline.
        extra = as_json("bid", "a bread slicer", "1", "4.5", "-d", str(cy))
        assert (extra["rate_num"], extra["rate_den"], extra["escrow_minor"]) == (9, 200, 100_00)
        commune("withdraw-bid", extra["id"][:12], "-d", str(cy))
        assert status(cy)["balance_minor"] == 700_00 - 600_00  # the withdrawn bid's money is back

        def ana_sees_both_bids() -> bool:
            (row,) = as_json("auctions", "-d", str(ana))
            return row["bids"] == 2

        wait_for(ana_sees_both_bids, what="the bids to reach the steward")
        (row,) = as_json("auctions", "-d", str(ana))
        assert row["auction"] == "open" and row["bonds"] == 12 and row["face_value_minor"] == 100_00
        # Sealed: Ana sees how many bids there are, and only her own.
        assert [(b["quantity"], b["rate"], b["status"]) for b in row["my_bids"]] == [(6, "6.0000%", "open")]

        # Past the deadline, the steward's node clears the auction at 6 %.
        clock.set(T0 + DAY_MS + MINUTE_MS)
        wait_for(lambda: as_json("auctions", "-d", str(cy))[0]["auction"] == "cleared", what="the clearing")
        (row,) = as_json("auctions", "-d", str(cy))
        assert (row["clearing_num"], row["clearing_den"], row["clearing_rate"]) == (3, 50, "6.0000%")
        assert row["state"] == "rented"
        assert [(b["rate_num"], b["rate_den"], b["status"], b["filled"]) for b in row["my_bids"]] == [
            (3, 50, "filled", 6),
            (9, 200, "withdrawn", 0),
        ]
        late = commune("bid", "a bread slicer", "1", "5%", "-d", str(cy), check=False)
        assert late.returncode == 4 and "refused (auction_closed)" in late.stderr

        # The steward confirms the bank paid the vendor, and Cy's withdrawal.
        (purchase,) = as_json("pending", "-d", str(ana))
        assert (purchase["kind"], purchase["amount_minor"], purchase["reference"]) == (
            "purchase",
            1_200_00,
            "Slicer Ltd",
        )
        commune("steward", "confirm-payment", purchase["id"][:12], "--reference", "SEPA out 1", "-d", str(ana))
        commune("withdraw", "100.00", "--payee", "Cy NL91 ABNA 0417 1643 00", "-d", str(cy))
        wait_for(lambda: len(as_json("pending", "-d", str(ana))) == 1, what="the withdrawal")
        (withdrawal,) = as_json("pending", "-d", str(ana))
        assert (withdrawal["kind"], withdrawal["amount_minor"], withdrawal["who"]) == ("withdrawal", 100_00, "Cy")
        commune("steward", "confirm-payment", withdrawal["id"][:12], "-d", str(ana))
        wait_for(lambda: not as_json("pending", "-d", str(ana)), what="the payments to be confirmed")

        # In period 2 (the rental's first whole period) the Bakery pays its rent; then it ends.
        clock.set(T0 + MONTH_MS + MINUTE_MS)
        wait_for(lambda: settled(ana) == 1, what="period 1 to be settled")
        commune("rent", "pay", "a bread slicer", "110.00", "-d", str(ana))
        clock.set(T0 + 2 * MONTH_MS + MINUTE_MS)
        wait_for(lambda: settled(cy) == 2, what="period 2 to be settled on Cy's node")

        # Period 2 by hand: costs 5.00 to the commune's funds; interest floor(1,200.00 x 0.5 %)
        # = 6.00, principal 103.28 - 6.00 = 97.28; the surplus 110.00 - 5.00 - 103.28 = 1.72
        # fills the series reserve (one period's debt service by default).
        stock = as_json("report", "stock", "-d", str(cy))
        (asset,) = stock["assets"]
        assert asset["asset"] == aid and asset["state"] == "rented" and asset["renter_name"] == "Bakery"
        assert (asset["payment"], asset["outstanding"], asset["reserve"]) == (103_28, 1_200_00 - 97_28, 1_72)
        assert (asset["periods_left"], asset["first_period"], asset["missed"]) == (11, 2, 0)
        assert (asset["coupon"], asset["coupon_num"], asset["coupon_den"]) == ("6.0000%", 3, 50)
        assert stock["rent_total"] == 110_00 and stock["outstanding_total"] == 1_102_72

        # The bond register: 6 bonds each; the principal 1,102.72 and the next payment split in
        # halves; period 3's installment: interest floor(1,102.72 x 0.5 %) = 5.51, principal 97.77.
        bonds = as_json("report", "bonds", "a bread slicer", "-d", str(ana))
        assert {h["name"]: (h["bonds"], h["principal"], h["next_payment"]) for h in bonds["holders"]} == {
            "Ana": (6, 551_36, 51_64),
            "Cy": (6, 551_36, 51_64),
        }
        first = bonds["schedule"][0]
        assert (first["period"], first["payment"], first["interest"], first["principal"]) == (3, 103_28, 5_51, 97_77)
        assert first["outstanding_after"] == 1_102_72 - 97_77 and len(bonds["schedule"]) == 11
        assert (bonds["periodic_num"], bonds["periodic_den"]) == (1, 200)

        # Cy's statement: 700.00 in, 600.00 into escrow, 100.00 withdrawn, half of 103.28 back.
        me = as_json("report", "me", "-d", str(cy))
        assert me["role"] == "investor" and me["balance"] == 51_64
        assert [(m["memo"], m["amount_in"], m["amount_out"]) for m in me["movements"]] == [
            ("deposit: Cy bonds", 700_00, 0),
            ("bid escrow", 0, 600_00),
            ("bid escrow", 0, 100_00),
            ("bid withdrawn", 100_00, 0),
            ("withdrawal to Cy NL91 ABNA 0417 1643 00", 0, 100_00),
            ("debt service", 51_64, 0),
        ]

        # The income of period 2, and the balance sheet: bank 200.00 = 1,500.00 in - 1,200.00 to
        # the vendor - 100.00 to Cy = the claims (Ana 51.64, Cy 51.64, the Bakery 90.00, the
        # series reserve 1.72) + the commune's funds 5.00.
        income = as_json("report", "income", "--period", "2", "-d", str(ana))
        assert (income["rent_received"], income["costs"], income["debt_service"]) == (110_00, 5_00, 103_28)
        assert (income["prepayment"], income["to_dividend_pool"], income["kept"]) == (0, 0, 1_72)
        assert income["settled"] and income["per_member"] == 0 and income["members"] == 1
        sheet = as_json("report", "balance-sheet", "-d", str(ana))
        assert sheet["holds"] and sheet["bank"] == 200_00 and sheet["own_funds_total"] == 5_00
        claims = {g["kind"]: g["total"] for g in sheet["claims"]}
        assert (claims["members"], claims["investors"], claims["enterprises"]) == (51_64, 51_64, 90_00)
        assert claims["assets"] == 1_72 and claims["escrow"] == 0 and claims["withdrawals"] == 0
        dividends = as_json("report", "dividends", "-d", str(ana))
        assert [(p["period"], p["per_member"], p["members"]) for p in dividends["periods"]] == [(1, 0, 1), (2, 0, 1)]

        # The text forms are there for people.
        text = commune("report", "bonds", aid[:8], "-d", str(ana)).stdout
        assert "6.0000% a year (0.5000% a period)" in text and "103.28 a period" in text
        text = commune("auctions", "-d", str(cy)).stdout
        assert "cleared at 6.0000% a year" in text and "won 6 bonds" in text
        # Both nodes hold the same record.
        wait_for(lambda: status(ana)["digest"] == status(cy)["digest"], what="convergence")
    finally:
        codes = [s.stop() for s in served]
        clock.close()
    assert codes == [0, 0]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_failed_offer_made_again_then_withdrawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Bakery's slicer finds no bidders at 110.00 a month; offered again at 120.00 its reserve
    rate rises; then the Bakery takes it back and Ana's bid money comes home."""
    clock = FileClock.create(tmp_path / "clock", T0)
    monkeypatch.setitem(nodekit.ENV, "COMMUNE_CLOCK_FILE", str(tmp_path / "clock"))
    ana = tmp_path / "ana"
    commune("found", "--name", "Test", "--as", "Ana", "--enterprise", "Bakery", "-d", str(ana))
    served = Served(ana, free_port())
    try:
        commune("deposit", "300.00", "--reference", "Ana bonds", "-d", str(ana))
        wait_for(lambda: len(as_json("pending", "-d", str(ana))) == 1, what="the deposit")
        commune("steward", "confirm-deposit", as_json("pending", "-d", str(ana))[0]["id"][:12], "-d", str(ana))
        wait_for(lambda: status(ana)["balance_minor"] == 300_00, what="Ana's credit")
        (tmp_path / "quote.txt").write_text("Slicer Ltd quotes 1,200.00\n")
        offer = as_json(
            "offer",
            *("--enterprise", "Bakery", "--description", "a bread slicer", "--price", "1,200.00"),
            *("--rent", "110.00", "--costs", "5.00", "--lease", "24", "--term", "12", "--bonds", "12"),
            *("--vendor-payee", "Slicer Ltd", "--valuation", str(tmp_path / "quote.txt"), "--days", "1"),
            *("-d", str(ana)),
        )
        # Made again before it failed: one sentence, nothing changed.
        early = commune("retry-offer", "a bread slicer", "--rent", "120.00", "-d", str(ana), check=False)
        assert early.returncode == 4 and "refused (auction_not_failed)" in early.stderr
        assert "Traceback" not in early.stderr
        wait_for(lambda: as_json("auctions", "-d", str(ana))[0]["auction"] == "open", what="the offer")
        clock.set(T0 + DAY_MS + MINUTE_MS)  # nobody bid: the auction fails
        wait_for(lambda: as_json("auctions", "-d", str(ana))[0]["auction"] == "failed", what="the failure")
        assert "commune retry-offer" in commune("auctions", "-d", str(ana)).stdout

        # Made again at 120.00 a month (R - c = 115.00): a higher reserve rate, a new deadline.
        again = as_json("retry-offer", offer["id"][:10], "--rent", "120.00", "--days", "2", "-d", str(ana))
        assert again["deadline_ms"] == T0 + DAY_MS + MINUTE_MS + 2 * DAY_MS and again["offer"] == offer["id"]
        assert Fraction(again["reserve_num"], again["reserve_den"]) > Fraction(
            offer["reserve_num"], offer["reserve_den"]
        )
        # 12 payments of 115.00 repay 1,200.00 at r_max a month, within a cent.
        r_max = Fraction(again["reserve_num"], again["reserve_den"]) / 12
        assert 120_000 - 1 < 115_00 * (1 - (1 + r_max) ** -12) / r_max <= 120_000 + 1
        wait_for(lambda: as_json("auctions", "-d", str(ana))[0]["auction"] == "open", what="the new auction")
        commune("bid", "a bread slicer", "3", "10%", "-d", str(ana))
        wait_for(lambda: as_json("auctions", "-d", str(ana))[0]["bids"] == 1, what="the bid")
        assert status(ana)["balance_minor"] == 0

        # The Bakery withdraws it: the asset is withdrawn, Ana's 300.00 comes back.
        text = commune("withdraw-offer", "a bread slicer", "-d", str(ana)).stdout
        assert "offer of 'a bread slicer' withdrawn" in text
        wait_for(lambda: as_json("auctions", "-d", str(ana))[0]["state"] == "withdrawn", what="the withdrawal")
        assert status(ana)["balance_minor"] == 300_00
        (row,) = as_json("auctions", "-d", str(ana))
        assert [b["status"] for b in row["my_bids"]] == ["withdrawn"]
        twice = commune("withdraw-offer", "a bread slicer", "-d", str(ana), check=False)
        assert twice.returncode == 4 and "refused (offer_decided)" in twice.stderr
    finally:
        code = served.stop()
        clock.close()
    assert code == 0
