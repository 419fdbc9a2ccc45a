"""The common stock's commands (rules 7-17): offer an asset for the commune to buy, withdraw the
offer or offer it again after a failed auction, see the auctions, bid for bonds and take a bid
back, pay rent, give notice, bid to rent a returned asset, and the steward's confirmation of a
liquidation's sale.

They follow node_commands.py: each act is run against the rules first (`_act`), amounts are
read as people write them (`_amount`), ids by a unique prefix (`_by_prefix`), and a mistake
is one sentence with an exit code. Rates are exact fractions, never floats.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import typer

from commune.cli.common import DirOption, JsonOption, app, console
from commune.cli.node_commands import (
    AMOUNT_ARGS,
    _act,
    _amount,
    _by_prefix,
    _deadline,
    _done,
    _enterprise,
    _node,
    _person,
    _text,
    steward_app,
)
from commune.core.hashing import blake2b256
from commune.core.money import format_amount
from commune.core.rates import format_percent
from commune.log.bodies import (
    Bid,
    ConfirmSale,
    GiveNotice,
    Offer,
    PayRent,
    ReletBid,
    RetryOffer,
    WithdrawBid,
    WithdrawOffer,
)
from commune.node.node import Node, NodeError
from commune.rules.charter import Charter
from commune.rules.lifecycle import State
from commune.rules.model import Asset
from commune.rules.refusal import RuleRefused
from commune.rules.rent import payer_for, period_of
from commune.rules.reserve_rate import OfferError, reserve_rate
from commune.rules.stock import annual_reserve

rent_app = typer.Typer(help="Rent for the commune's property.", no_args_is_help=True)
app.add_typer(rent_app, name="rent")

#: The largest numerator and denominator a bid's rate may have (bodies.Bid).
_RATE_LIMIT = 10**12
_PERCENT_RATE = re.compile(r"^(?P<num>[0-9]+(?:[.,][0-9]+)?)\s*%?$")
_FRACTION_RATE = re.compile(r"^(?P<num>[0-9]+)\s*/\s*(?P<den>[0-9]+)$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rate(text: str) -> Fraction:
    """A yearly rate as people write it: `4.5%` or `4.5` (a percentage), or `9/200` (a fraction
    of one); exact, in lowest terms, never through a float."""
    written = text.strip()
    fraction = _FRACTION_RATE.match(written)
    percent = _PERCENT_RATE.match(written)
    if fraction:
        if int(fraction["den"]) == 0:
            raise NodeError(f"{text!r} divides by zero; write a rate like 4.5% or 9/200", reason="bad_rate")
        rate = Fraction(int(fraction["num"]), int(fraction["den"]))
    elif percent:
        rate = Fraction(percent["num"].replace(",", ".")) / 100
    else:
        raise NodeError(
            f"{text!r} is not a rate; write a yearly percentage like 4.5% (or 4.5), or a fraction like 9/200",
            reason="bad_rate",
        )
    if rate.numerator > _RATE_LIMIT or rate.denominator > _RATE_LIMIT:
        raise NodeError(f"{text!r} is more precise than a bid can say; use fewer decimals", reason="bad_rate")
    return rate


def _moment(ms: int) -> str:
    """A deadline to read: the UTC date and minute (exact: no float)."""
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%d %H:%M UTC")


def _asset(node: Node, text: str) -> tuple[bytes, Asset]:
    """An asset of the common stock by its description, or by its offer's id (a unique prefix)."""
    assets = node.state.state.tables["assets"]
    wanted = text.strip().casefold()
    by_name = [(aid, a) for aid, a in assets.items() if a.description.casefold() == wanted]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise NodeError(
            f"{len(by_name)} assets are called {text!r}; give the start of the one's id (`commune auctions` shows it)",
            reason="ambiguous_asset",
        )
    if not re.fullmatch(r"[0-9a-fA-F]+", text.strip()):
        return _unknown_asset(node, text)
    return _by_prefix(
        assets,
        text.strip(),
        "asset",
        "`commune auctions` lists them by id and description; sync first if it is not there",
        "unknown_asset",
    )


def _unknown_asset(node: Node, text: str) -> tuple[bytes, Asset]:
    known = ", ".join(sorted(repr(a.description) for a in node.state.state.tables["assets"].values()))
    raise NodeError(
        f"no asset is called {text!r} or has an id starting so; "
        + (f"the assets are {known}" if known else "the commune has no assets yet"),
        reason="unknown_asset",
    )


def _valuation(text: str) -> bytes:
    """The BLAKE2b-256 hash of the evidence of value: of the file `text` names, or 64 hex digits."""
    path = Path(text).expanduser()
    if path.is_file():
        try:
            return blake2b256(path.read_bytes())
        except OSError as exc:
            raise NodeError(f"cannot read {path}: {exc.strerror}", reason="bad_valuation") from None
    if len(text.strip()) == 64:
        try:
            return bytes.fromhex(text.strip())
        except ValueError:
            pass
    raise NodeError(
        f"{text!r} is neither a file nor a hash of 64 hex digits: give the file with the evidence of value"
        " (a valuation, a quote), or its BLAKE2b-256 hash",
        reason="bad_valuation",
    )


# -- offering and bidding ---------------------------------------------------------------------


@app.command()
def offer(
    enterprise: str = typer.Option(..., "--enterprise", help="The enterprise that will rent it (you sign for it)."),
    description: str = typer.Option(..., "--description", help="What the asset is, e.g. 'a bread slicer'."),
    price: str = typer.Option(..., "--price", help="What the commune pays for it, costs included, e.g. '1,200.00'."),
    rent: str = typer.Option(..., "--rent", help="The rent your enterprise pays a period (a month)."),
    costs: str = typer.Option("0", "--costs", help="What the commune itself pays for it a period (insurance...)."),
    lease: int = typer.Option(..., "--lease", min=1, max=1200, help="How many periods your enterprise rents it."),
    term: int = typer.Option(..., "--term", min=1, max=1200, help="Periods to repay the bonds in (at most --lease)."),
    bonds: int = typer.Option(..., "--bonds", min=1, max=10_000_000, help="How many bonds the price is split into."),
    vendor_payee: str = typer.Option(..., "--vendor-payee", help="Whom the bank pays the price to: name and IBAN."),
    valuation: str = typer.Option(
        ..., "--valuation", help="A file with the evidence of value (its hash goes in), or that hash in hex."
    ),
    vendor: str = typer.Option("", "--vendor", help="The vendor, if they are a member or investor (name or key)."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the bond auction stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Ask the commune to buy an asset your enterprise will rent: its bonds go to auction."""
    with _node(data_dir) as node:
        state = node.state.state
        body = Offer(
            renter=_enterprise(node, enterprise),
            description=_text(description.strip(), "the description", required=True),
            price=_amount(node, price),
            rent=_amount(node, rent),
            costs=_amount(node, costs, zero_ok=True),
            lease_periods=lease,
            term_periods=term,
            bonds=bonds,
            vendor_payee=_text(vendor_payee, "the vendor's payee", required=True),
            valuation=_valuation(valuation),
            deadline_ms=_deadline(node, days),
            vendor=_person(node, vendor) if vendor else b"",
        )
        result = _act(node, body)
        waits = _waits(node, body.renter, result, "it goes to auction")
    _offered(result, "made", waits, body.description, body.price, body, state.charter, as_json)


def _waits(node: Node, enterprise: bytes, result: dict, what: str) -> str:
    """`what` was signed; say so, and if the enterprise needs more signers, who approves it how."""
    ent = node.state.state.tables["enterprises"].get(enterprise)
    k = ent.k if ent is not None else 1
    result["waits_for_signers"] = k > 1
    if ent is None or k <= 1:
        return what
    return (
        f"{what} once {k} signers of {ent.name} stand behind it;"
        f" the others approve it with `commune enterprise approve {result['id'][:16]}`"
    )


def _offered(
    result: dict,
    how: str,
    waits: str,
    description: str,
    price: int,
    terms: Offer | RetryOffer,
    charter: Charter,
    as_json: bool,
) -> None:
    """Print an offer made or made again: its bonds, its reserve rate, when its auction closes."""
    bonds, deadline_ms, currency = terms.bonds, terms.deadline_ms, charter.currency
    try:  # the rules took it, so the figures can fund it
        reserve = charter.per_year(reserve_rate(price, terms.rent - terms.costs, terms.term_periods))
    except OfferError:  # pragma: no cover - refused by the dry run first
        reserve = Fraction(0)
    result.update(
        reserve_rate=format_percent(reserve),
        reserve_num=reserve.numerator,
        reserve_den=reserve.denominator,
        deadline_ms=deadline_ms,
        deadline=_moment(deadline_ms),
    )
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(
        f"offer {result.get('offer', result['id'])} {how}: {bonds} bonds of"
        f" {format_amount(price // bonds, currency)} for {description!r}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"bids may ask at most {result['reserve_rate']} a year (the reserve rate);"
        f" the auction closes {result['deadline']}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if result["waits_for_signers"]:
        console.print(waits, highlight=False, markup=False, soft_wrap=True)
    _done(result, "signed", False)


@app.command("withdraw-offer")
def withdraw_offer(
    offer_id: str = typer.Argument(..., metavar="OFFER", help="Your offer: its id (a prefix will do) or description."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Take back your enterprise's offer while its auction is open, or after it failed; bids' money goes back."""
    with _node(data_dir) as node:
        aid, a = _asset(node, offer_id)
        result = _act(node, WithdrawOffer(aid))
        what = f"offer of {a.description!r} withdrawn; the money set aside for its bids goes back with the next block"
        _done(result, _waits(node, a.renter, result, what), as_json)


@app.command("retry-offer")
def retry_offer(
    offer_id: str = typer.Argument(
        ..., metavar="OFFER", help="Your offer whose auction failed: its id (a prefix will do) or description."
    ),
    rent: str = typer.Option("", "--rent", help="The new rent a period (default: as before)."),
    costs: str = typer.Option("", "--costs", help="The commune's costs a period (default: as before)."),
    lease: int = typer.Option(0, "--lease", min=0, max=1200, help="Periods of the lease (default: as before)."),
    term: int = typer.Option(0, "--term", min=0, max=1200, help="Periods to repay the bonds in (default: as before)."),
    bonds: int = typer.Option(0, "--bonds", min=0, max=10_000_000, help="How many bonds (default: as before)."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the new auction stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Offer the same asset again after its auction failed, on better terms: a higher rent raises the reserve rate."""
    with _node(data_dir) as node:
        aid, a = _asset(node, offer_id)
        body = RetryOffer(
            aid,
            rent=_amount(node, rent) if rent else a.rent,
            costs=_amount(node, costs, zero_ok=True) if costs else a.costs,
            lease_periods=lease or a.lease_periods,
            term_periods=term or a.term_periods,
            bonds=bonds or a.bonds,
            deadline_ms=_deadline(node, days),
        )
        result = _act(node, body)
        waits = _waits(node, a.renter, result, "it goes to auction again")
        charter = node.state.state.charter
    result["offer"] = aid.hex()  # the asset keeps its first offer's id; `id` is this entry's
    _offered(result, "made again", waits, a.description, a.price, body, charter, as_json)


def _auction_stage(asset: Asset, now_ms: int) -> str:
    if asset.state == State.AUCTION_OPEN.value:
        return "open" if now_ms <= asset.deadline_ms else "closing"
    if asset.state == State.FAILED.value:
        return "failed"
    if asset.payment > 0:
        return "cleared"
    return asset.state.replace("_", " ")


def _my_bids(node: Node) -> dict[bytes, list[dict]]:
    """This person's bids, by offer, from their own feed: taken in or not yet."""
    me = node.key.public
    state = node.state.state
    placed = state.tables["bids"]
    included = state.tables["included"].get(me, 0)
    withdrawing = set()
    found: dict[bytes, list[dict]] = {}
    for entry in node.entries.feed(me):
        if isinstance(entry.body, WithdrawBid) and entry.seq > included:
            withdrawing.add(entry.body.bid)
        if not isinstance(entry.body, Bid):
            continue
        row = placed.get(entry.id)
        if row is not None:
            status, filled = row.status, row.filled
        else:
            status, filled = ("refused" if entry.seq <= included else "waiting for the next block"), 0
        rate = Fraction(entry.body.rate_num, entry.body.rate_den)
        found.setdefault(entry.body.offer, []).append(
            {
                "id": entry.id.hex(),
                "quantity": entry.body.quantity,
                "rate": format_percent(rate),
                "rate_num": entry.body.rate_num,
                "rate_den": entry.body.rate_den,
                "status": status,
                "filled": filled,
            }
        )
    for bids in found.values():
        for b in bids:
            if bytes.fromhex(b["id"]) in withdrawing and b["status"] == "open":
                b["status"] = "withdrawing"
    return found


@app.command()
def auctions(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The bond auctions, open and past: reserve rate, deadline, how many bids, the clearing rate.

    Bids are sealed: you see how many there are, and your own."""
    with _node(data_dir) as node:
        state = node.state.state
        now = max(node.clock.now_ms(), state.time_ms)
        enterprises = state.tables["enterprises"]
        mine = _my_bids(node)
        rows = []
        for aid, a in sorted(state.tables["assets"].items(), key=lambda item: (item[1].opened_height, item[0])):
            reserve = annual_reserve(state, a)
            cleared = a.payment > 0
            coupon = Fraction(a.coupon_num, a.coupon_den)
            bids = [state.tables["bids"][b] for b in state.grouped("bids", aid)]
            ent = enterprises.get(a.renter)
            rows.append(
                {
                    "id": aid.hex(),
                    "description": a.description,
                    "renter": ent.name if ent else a.renter.hex()[:16],
                    "state": a.state,
                    "auction": _auction_stage(a, now),
                    "price_minor": a.price,
                    "bonds": a.bonds,
                    "face_value_minor": a.face_value,
                    "reserve_rate": format_percent(reserve),
                    "reserve_num": reserve.numerator,
                    "reserve_den": reserve.denominator,
                    "deadline_ms": a.deadline_ms,
                    "deadline": _moment(a.deadline_ms),
                    # this auction's bids: not withdrawn, nor of an earlier auction of it that failed
                    "bids": sum(
                        1 for b in bids if b.status != "withdrawn" and (b.status != "failed" or a.state == State.FAILED)
                    ),
                    "clearing_rate": format_percent(coupon) if cleared else None,
                    "clearing_num": a.coupon_num if cleared else None,
                    "clearing_den": a.coupon_den if cleared else None,
                    "my_bids": mine.get(aid, []),
                }
            )
        currency = state.charter.currency
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("no auctions yet (`commune offer` asks the commune to buy an asset)")
    for r in rows:
        stage = {
            "open": f"open, closes {r['deadline']}",
            "closing": f"closed {r['deadline']}, decided with the next block",
            "cleared": f"cleared at {r['clearing_rate']} a year; the asset is {r['state'].replace('_', ' ')}",
            "failed": f"failed: the bids did not reach {r['bonds']} bonds; its enterprise may offer it again"
            " on better terms (`commune retry-offer`) or withdraw it",
            "withdrawn": "withdrawn by its enterprise",
        }.get(r["auction"], r["auction"])
        console.print(
            f"{r['id'][:16]}  {r['description']} (for {r['renter']}): {stage}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        console.print(
            f"    {format_amount(r['price_minor'], currency)} in {r['bonds']} bonds of"
            f" {format_amount(r['face_value_minor'], currency)}; reserve rate {r['reserve_rate']} a year;"
            f" {r['bids']} bid{'s' if r['bids'] != 1 else ''}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        for b in r["my_bids"]:
            status = b["status"]
            if status in ("filled", "unfilled"):
                status = f"won {b['filled']} bond{'s' if b['filled'] != 1 else ''}" if b["filled"] else "not filled"
            elif status == "failed":
                status = "the auction failed; its money came back"
            console.print(
                f"    your bid {b['id'][:16]}: {b['quantity']} at {b['rate']}: {status}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


@app.command(context_settings=AMOUNT_ARGS)
def bid(
    offer_id: str = typer.Argument(..., metavar="OFFER", help="The offer: its id (a prefix will do) or description."),
    quantity: int = typer.Argument(..., min=1, max=10_000_000, help="How many bonds you bid for."),
    rate: str = typer.Argument(..., help="The lowest yearly rate you accept: 4.5%, 4.5 or 9/200."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Bid, sealed, for bonds of an open auction; the money is set aside from your account until it closes."""
    with _node(data_dir) as node:
        wanted = parse_rate(rate)
        aid, asset = _asset(node, offer_id)
        result = _act(node, Bid(aid, quantity, wanted.numerator, wanted.denominator))
        escrow = quantity * asset.face_value
        currency = node.state.genesis.charter.currency
    result.update(rate=format_percent(wanted), rate_num=wanted.numerator, rate_den=wanted.denominator)
    result["escrow_minor"] = escrow
    _done(
        result,
        f"bid for {quantity} bonds at {format_percent(wanted)} a year or more;"
        f" {format_amount(escrow, currency)} set aside from your account",
        as_json,
    )


@app.command("withdraw-bid")
def withdraw_bid(
    bid_id: str = typer.Argument(..., metavar="BID", help="Your bid's id, as `commune auctions` shows it."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Take your bid back before the auction closes; the money set aside comes back."""
    with _node(data_dir) as node:
        open_bids = {
            bytes.fromhex(b["id"]): b
            for bids in _my_bids(node).values()
            for b in bids
            if b["status"] in ("open", "waiting for the next block")
        }
        bid_key, _ = _by_prefix(
            open_bids, bid_id, "open bid of yours", "`commune auctions` shows your bids", "unknown_bid"
        )
        _done(_act(node, WithdrawBid(bid_key)), "bid withdrawn; its money comes back with the next block", as_json)


# -- renting ----------------------------------------------------------------------------------------


@rent_app.command("pay", context_settings=AMOUNT_ARGS)
def rent_pay(
    asset: str = typer.Argument(..., help="The asset: its description, or its id (a prefix will do)."),
    amount: str = typer.Argument(..., help="How much, e.g. '110.00'; rent paid ahead is kept for the next periods."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Pay rent for an asset from the renting enterprise's account (you must sign for it); an
    enterprise that owes rent for it from a rental that ended pays that debt the same way."""
    with _node(data_dir) as node:
        aid, a = _asset(node, asset)
        minor = _amount(node, amount)
        result = _act(node, PayRent(aid, minor))
        state = node.state.state
        currency = state.charter.currency
        paid = f"{format_amount(minor, currency)} paid for {a.description!r}"
        try:  # the dry run took it, so there is a payer
            payer = payer_for(state, aid, node.key.public)
        except RuleRefused:  # pragma: no cover - refused by the dry run first
            payer = a.renter
        owed = state.tables["arrears"].get((payer, aid), 0)
        if owed:
            towards = format_amount(min(owed, minor), currency)
            paid += f", {towards} of it towards the {format_amount(owed, currency)} owed from an earlier rental"
        k = state.tables["enterprises"][payer].k
        _done(result, paid if k <= 1 else f"{paid} once {k} signers stand behind it", as_json)


@app.command()
def notice(
    asset: str = typer.Argument(..., help="The asset: its description, or its id (a prefix will do)."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Give notice on a rental: it ends when the current period ends, and that period's rent is still due."""
    with _node(data_dir) as node:
        aid, a = _asset(node, asset)
        period = period_of(node.state.state, max(node.clock.now_ms(), node.state.state.time_ms))
        result = _act(node, GiveNotice(aid))
        k = node.state.state.tables["enterprises"][a.renter].k
        if k <= 1:
            what = f"notice given: the rental of {a.description!r} ends with period {period}, whose rent is still due"
        else:
            what = (
                f"notice signed; once {k} signers stand behind it, the rental of {a.description!r} ends with"
                " the period it is given in, whose rent is still due"
            )
        _done(result, what, as_json)


@app.command("relet-bid")
def relet_bid(
    asset: str = typer.Argument(..., help="The returned asset: its description, or its id (a prefix will do)."),
    enterprise: str = typer.Option(..., "--enterprise", help="The enterprise that would rent it (you sign for it)."),
    rent: str = typer.Option(..., "--rent", help="The rent it would pay a period."),
    lease: int = typer.Option(..., "--lease", min=1, max=1200, help="For how many periods."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Bid, sealed, to rent a returned asset (members only): the highest present value of rent wins."""
    with _node(data_dir) as node:
        aid, a = _asset(node, asset)
        body = ReletBid(aid, _enterprise(node, enterprise), _amount(node, rent), lease)
        result = _act(node, body)
        _done(result, _waits(node, body.renter, result, f"bid to rent {a.description!r} placed"), as_json)


@steward_app.command("confirm-sale")
def confirm_sale(
    asset: str = typer.Argument(..., help="The asset being liquidated: its description, or its id."),
    proceeds: str = typer.Option(..., "--proceeds", help="What the sale brought into the bank."),
    sale_costs: str = typer.Option("0", "--sale-costs", help="What of it the sale cost (paid first)."),
    reference: str = typer.Option("", "--reference", help="The bank's reference for the proceeds."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Confirm a liquidated asset was sold: the proceeds pay the sale's costs, its bondholders, then the dividend."""
    with _node(data_dir) as node:
        aid, a = _asset(node, asset)
        body = ConfirmSale(
            aid,
            _amount(node, proceeds, zero_ok=True),
            _amount(node, sale_costs, zero_ok=True),
            _text(reference, "the reference"),
        )
        _done(_act(node, body), f"sale of {a.description!r} confirmed", as_json)
