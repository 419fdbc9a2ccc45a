"""The node's commands: found, invite, join, serve, sync, status, members, and the acts on
money and votes (attest, accept, deposit, transfer, withdraw, an enterprise's payments, propose,
vote, delegate, and the steward's confirmations of what the bank did). The common stock's
commands are in stock_commands.py, the reports in report_commands.py.

A command that acts signs one entry in the person's feed. The rules are run on it first
(`Node.dry_run`), so a mistake is refused with its reason before anything is written. If a
node serves the data directory, the entry goes through it (node.sock) and is pushed to its
peers at once; otherwise it is stored and goes out at the next sync.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import msgspec
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from commune.cli.common import DirOption, JsonOption, app, clock, console, plain_errors
from commune.core.encoding import encode
from commune.core.errors import CommuneError
from commune.core.money import format_amount, parse_money
from commune.log.bodies import (
    KIND_OF,
    TOPICS,
    Accept,
    Approve,
    Attest,
    Body,
    ChangeCharterMotion,
    ConfirmDeposit,
    ConfirmPayment,
    Delegate,
    Deposit,
    ElectStewardMotion,
    EnterpriseTransfer,
    ExpelEnterpriseMotion,
    Motion,
    Offer,
    Profile,
    Propose,
    RecallStewardMotion,
    RegisterEnterpriseMotion,
    RegisterInvestor,
    ReletBid,
    RetryOffer,
    SetSigners,
    Transfer,
    Vote,
    Withdraw,
)
from commune.net.hub import Limits
from commune.net.invitation import Invitation
from commune.node import control
from commune.node.node import Node, NodeError, parse_peer
from commune.node.serve import serve as serve_node
from commune.rules.accounts import participant_of
from commune.rules.charter import DAY_MS
from commune.rules.enterprise_acts import ENTRY_ACTS, body_of
from commune.rules.governance import tally
from commune.rules.ledger import available
from commune.rules.model import CommuneState
from commune.state.reports import iso_date

T = TypeVar("T")

enterprise_app = typer.Typer(
    help="Member enterprises: attest who works there, pay from their accounts.", no_args_is_help=True
)
steward_app = typer.Typer(
    help="A steward's duties that need a person: confirming what the bank did.", no_args_is_help=True
)
propose_app = typer.Typer(help="Put a motion to the members' vote.", no_args_is_help=True)
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(steward_app, name="steward")
app.add_typer(propose_app, name="propose")

#: For commands that take an amount as an argument: a typed "-5" is an amount to refuse in words,
#: not an option nobody has.
AMOUNT_ARGS = {"ignore_unknown_options": True}


def _open(root: Path) -> Node:
    return Node(root, clock())


@contextmanager
def _node(root: Path) -> Iterator[Node]:
    """The node in `root`, open for one command; its errors as one plain sentence."""
    with plain_errors():
        node = _open(root)
        try:
            yield node
        finally:
            node.close()


def _person(node: Node, text: str) -> bytes:
    """A participant by public key (hex) or by the name in their profile."""
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    names = _names(node.state.state)
    found = [k for k, name in names.items() if name.casefold() == text.casefold()]
    if not found:  # someone who joined and is not yet admitted: the profile in their feed
        for author in node.entries.frontier():
            first = node.entries.get(author, 1)
            if author not in names and first is not None and isinstance(first.body, Profile):
                if first.body.name.casefold() == text.casefold():
                    found.append(author)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NodeError(
            f"{len(found)} people are called {text!r}; give the public key instead", reason="ambiguous_name"
        )
    raise NodeError(
        f"no one called {text!r} is known here; give their public key (64 hex digits, `commune status` shows one's own)"
        " or sync first",
        reason="unknown_person",
    )


def _enterprise(node: Node, text: str) -> bytes:
    enterprises = node.state.state.tables["enterprises"]
    found = [eid for eid, e in enterprises.items() if e.name.casefold() == text.strip().casefold() or eid.hex() == text]
    if len(found) == 1:
        return found[0]
    names = ", ".join(sorted(e.name for e in enterprises.values())) or "none yet"
    raise NodeError(f"no enterprise {text!r}; the registered ones are: {names}", reason="unknown_enterprise")


def _payee(node: Node, text: str) -> bytes:
    """Whom a payment goes to: a participant (name or key), else an enterprise by its name."""
    try:
        return _person(node, text)
    except NodeError as exc:
        if exc.reason != "unknown_person":
            raise
        wanted = text.strip().casefold()
        found = [eid for eid, e in node.state.state.tables["enterprises"].items() if e.name.casefold() == wanted]
        if len(found) == 1:
            return found[0]
        raise NodeError(
            f"no one and no enterprise called {text!r} is known here; give a public key (64 hex digits) or sync first",
            reason="unknown_person",
        ) from None


def _text(text: str, what: str, limit: int = 200, *, required: bool = False) -> str:
    """Text a person typed into an entry (a memo, a payee, a description), within its limit."""
    if required and not text.strip():
        raise NodeError(f"{what} cannot be empty", reason="bad_text")
    if len(text) > limit:
        raise NodeError(f"{what} is {len(text)} characters long; at most {limit} fit", reason="bad_text")
    return text


def _act(node: Node, body: Body, refs: tuple[bytes, ...] = (), *, check: bool = True) -> dict:
    """Check `body` against the rules (unless it takes effect only after an entry not yet on the
    chain), then sign it in (through the serving node if there is one)."""
    if check:
        node.dry_run(body, refs)
    answer = control.request(
        node.root,
        {"op": "append", "kind": KIND_OF[type(body)], "body": encode(body).hex(), "refs": [r.hex() for r in refs]},
    )
    if answer is None:
        entry = node.append(body, refs)
        return {"seq": entry.seq, "id": entry.id.hex(), "through": "store"}
    return {"seq": answer["seq"], "id": answer["id"], "through": "node"}


def _own_profile_name(node: Node) -> str | None:
    """The name in the latest profile of this node's own feed (written when joining)."""
    name = None
    for entry in node.entries.feed(node.key.public):
        if isinstance(entry.body, Profile):
            name = entry.body.name
    return name


def _names(state: CommuneState) -> dict[bytes, str]:
    """Participants by name: investors by the name they registered with, everyone else by the
    name in their latest profile."""
    names = {key: investor.name for key, investor in state.tables["investors"].items()}
    names.update(state.tables["names"])
    return names


def _balance(state: CommuneState, key: bytes) -> int:
    """What `key` may spend now: credits and accrued dividends, less their own spends."""
    return available(state, key, state.height) if state.is_participant(key) else 0


def _account_name(node: Node, account: str) -> str:
    state = node.state.state
    person = participant_of(account)
    if person is not None:
        return _names(state).get(person, person.hex()[:16])
    ent = state.tables["enterprises"].get(bytes.fromhex(account[2:])) if account.startswith("e:") else None
    return ent.name if ent else account


_motion_decoder = msgspec.msgpack.Decoder(Motion)


def _done(result: dict, what: str, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(result))
        return
    tail = "" if result["through"] == "node" else " (no node serves this directory: it goes out at the next sync)"
    console.print(
        f"{what}: entry #{result['seq']} {result['id'][:16]}{tail}", highlight=False, markup=False, soft_wrap=True
    )


# -- founding, joining, inviting --------------------------------------------------------------------


@app.command()
def found(
    name: str = typer.Option(..., "--name", help="The commune's name."),
    currency: str = typer.Option("EUR", "--currency", help="The currency its accounts are kept in (ISO 4217)."),
    founder: str = typer.Option(..., "--as", help="Your name, as the other members will see it."),
    enterprise: list[str] = typer.Option([], "--enterprise", help="A founding enterprise you sign for (repeatable)."),
    charter: list[str] = typer.Option(
        [], "--charter", help="A charter parameter other than the default, as PARAMETER=VALUE (repeatable)."
    ),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Found a new commune, with you as its first member and its steward."""
    with plain_errors():
        changes = []
        for item in charter:
            parameter, sep, value = item.partition("=")
            if not sep:
                raise NodeError(f"{item!r}: write a charter parameter as PARAMETER=VALUE, like probation_days=30")
            changes.append((parameter.strip(), value.strip()))
        node = Node.found(
            data_dir,
            name=name,
            currency=currency.upper(),
            founder=founder,
            enterprises=enterprise,
            charter=changes,
            clock=clock(),
        )
        result = {"commune": node.commune.hex(), "key": node.key.public.hex(), "dir": str(data_dir)}
        node.close()
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(
        f"founded {name!r}: commune {result['commune'][:16]}…, you are its first member and steward", markup=False
    )
    console.print(
        f"your key is in {data_dir / 'secret.key'}: back it up. Next: `commune serve`, then `commune invite`."
    )


@app.command()
def invite(
    address: list[str] = typer.Option(
        [], "--address", help="host:port where your node can be reached (repeatable; default: where it serves)."
    ),
    valid_days: int = typer.Option(7, "--valid-days", min=1, max=365, help="Days the invitation stays valid."),
    qr: bool = typer.Option(False, "--qr", help="Also draw it as a QR code."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Invite someone: prints a token they give to `commune join`. It works once, for one person."""
    with _node(data_dir) as node:
        addresses = list(address) or _serving_addresses(node)
        if not addresses:
            raise NodeError(
                "say where your node can be reached: --address host:port (or run `commune serve` first)",
                reason="no_address",
            )
        invitation = node.invite(addresses, valid_days * DAY_MS)
    token = invitation.to_text()
    if as_json:
        console.print_json(json.dumps({"token": token, "expires_ms": invitation.expires_ms}))
        return
    console.print(token, highlight=False, markup=False, soft_wrap=True)
    if qr:
        console.print(invitation.qr_text(), highlight=False, markup=False)


def _serving_addresses(node: Node) -> list[str]:
    path = node.root / "serving.json"
    try:
        serving = json.loads(path.read_text())
        addresses = list(serving.get("advertised") or serving["addresses"])
    except (OSError, ValueError, KeyError):
        return []
    # A node listening on every interface cannot say which address others reach it at.
    return [a for a in addresses if not a.startswith(("0.0.0.0:", "[::]:"))]


@app.command()
def join(
    token: str = typer.Argument(..., help="The invitation token you were given."),
    name: str = typer.Option(..., "--name", help="Your name, as the other members will see it."),
    investor: bool = typer.Option(False, "--investor", help="Join as an outside investor (bonds, no vote)."),
    data_dir: Path = DirOption,
) -> None:
    """Join a commune with an invitation: fetch its record from the inviter and introduce yourself."""
    with plain_errors():
        node = asyncio.run(Node.join(data_dir, token, clock()))
        try:
            node.append(RegisterInvestor(name) if investor else Profile(name))
            inviter = Invitation.from_text(token).inviter
            for address in sorted(node.known_peers().get(inviter, ())):
                asyncio.run(node.sync(inviter, address))  # the inviter admits this node's links
                break
            console.print(
                f"joined {node.state.genesis.charter.name!r} at height {node.state.height} as {name}", markup=False
            )
            console.print(f"your public key: {node.key.public.hex()}")
            if not investor:
                console.print(
                    "next: a signer of your enterprise runs `commune enterprise attest` for you; then `commune accept`"
                )
        finally:
            node.close()


# -- the node process --------------------------------------------------------------------------------


@app.command()
def serve(
    listen: list[str] = typer.Option(["127.0.0.1:7722"], "--listen", help="host:port to listen on (repeatable)."),
    peer: list[str] = typer.Option([], "--peer", help="A peer as KEY@host:port (repeatable; remembered)."),
    discover: list[str] = typer.Option(
        [], "--discover", help="Find peers on the LAN through this interface's IPv4 address (repeatable)."
    ),
    advertise: list[str] = typer.Option(
        [], "--advertise", help="host:port where peers can reach you, signed into your profile (repeatable)."
    ),
    block_interval: float = typer.Option(1.0, "--block-interval", help="Seconds between a steward's blocks, at most."),
    anti_entropy: float = typer.Option(10.0, "--anti-entropy", help="Seconds between frontier exchanges with peers."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the node does."),
    data_dir: Path = DirOption,
) -> None:
    """Run your node until stopped (Ctrl-C): keep in sync with peers, and do a steward's duties."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    with plain_errors():
        peers = [parse_peer(p) for p in peer]
        node = _open(data_dir)
        try:
            asyncio.run(
                serve_node(
                    node,
                    listen=listen,
                    peers=peers,
                    discover_on=discover,
                    advertise=advertise,
                    limits=Limits(anti_entropy_s=anti_entropy),
                    block_interval_s=block_interval,
                )
            )
        finally:
            node.close()


@app.command()
def sync(
    peer: str = typer.Argument(..., help="The peer as KEY@host:port."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Sync once with a peer: each side gets what it lacks. Shows progress on a terminal."""
    with plain_errors():
        key, address = parse_peer(peer)
        started = time.perf_counter()
        stats = control.request(data_dir, {"op": "sync", "peer": peer})
        if stats is None:
            node = _open(data_dir)
            try:
                stats = _sync_with_progress(node, key, address, show=not as_json)
                node.add_peer(key, address)  # remembered once it answered
                stats["height"] = node.state.height
                stats["digest"] = node.digest().hex()
            finally:
                node.close()
        stats["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        console.print_json(json.dumps(stats))
        return
    console.print(
        f"synced with {address}: {stats['entries_in']} entries and {stats['blocks_in']} blocks in, "
        f"{stats['entries_out']} entries and {stats['blocks_out']} blocks out, in {stats['seconds']} s",
        highlight=False,
        markup=False,
    )


def _sync_with_progress(node: Node, key: bytes, address: str, show: bool) -> dict:
    if not (show and console.is_terminal):
        return asyncio.run(node.sync(key, address))
    with Progress(
        TextColumn("entries"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None, count="", rate="")
        started = time.perf_counter()

        def progress(done: int, expected: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-6)
            bar.update(task, completed=done, total=expected, count=f"{done:,}/{expected:,}", rate=f"{rate:,.0f}/s")

        return asyncio.run(node.sync(key, address, progress=progress))


# -- reading -------------------------------------------------------------------------------------------


@app.command()
def status(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """What your node holds: the commune, the chain's height, the state digest, your balance, its peers."""
    with plain_errors():
        answer = control.request(data_dir, {"op": "status"}, timeout=30)
        node = _open(data_dir)
        try:
            info = dict(answer) if answer is not None else node.status()
            info.pop("ok", None)
            key = node.key.public
            state = node.state.state
            info["balance_minor"] = node.spendable()
            member = state.tables["members"].get(key)
            info["voting"] = state.is_voting_member(key)
            info["probation_until"] = (
                iso_date(member.probation_until_ms)
                if member is not None and member.current and not info["voting"]
                else None
            )
            currency = node.state.genesis.charter.currency
        finally:
            node.close()
    if as_json:
        console.print_json(json.dumps(info))
        return
    console.print(
        f"commune {info['name']!r} {info['commune'][:16]}…  height {info['height']}  digest {info['digest'][:16]}",
        markup=False,
    )
    role = (
        "steward"
        if info["steward"]
        else ("member" if info["voting"] else f"member on probation until {info['probation_until']}: no vote yet")
        if info["member"]
        else "participant"
        if info["participant"]
        else "not yet a participant"
    )
    console.print(
        f"you: {info['key']} ({role}), balance {format_amount(info['balance_minor'], currency)}",
        highlight=False,
        markup=False,
    )
    console.print(
        f"entries held: {info['entries']:,} in {info['feeds']} feeds ({info['unverified']:,} awaiting their check)"
    )
    if info["serving"]:
        console.print(f"serving on {', '.join(info['addresses'])}; linked to {len(info['linked'])} peer(s)")
    else:
        console.print("not serving (start it with `commune serve`)")


@app.command()
def members(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The members and investors, with their enterprises and balances."""
    with _node(data_dir) as node:
        state = node.state.state
        names = _names(state)
        enterprises = state.tables["enterprises"]
        rows = []
        for key, m in sorted(state.tables["members"].items(), key=lambda kv: names.get(kv[0], "")):
            ent = enterprises.get(m.enterprise)
            rows.append(
                {
                    "key": key.hex(),
                    "name": names.get(key, ""),
                    "kind": "member" if m.current else "former member",
                    "enterprise": ent.name if ent else "",
                    "balance_minor": _balance(state, key),
                }
            )
        for key in sorted(state.tables["investors"]):
            rows.append(
                {
                    "key": key.hex(),
                    "name": names.get(key, ""),
                    "kind": "investor",
                    "enterprise": "",
                    "balance_minor": _balance(state, key),
                }
            )
        currency = node.state.genesis.charter.currency
    if as_json:
        console.print_json(json.dumps(rows))
        return
    for r in rows:
        console.print(
            f"{r['name'] or '?':<20} {r['kind']:<14} {r['enterprise']:<20} "
            f"{format_amount(r['balance_minor'], currency):>14}  {r['key'][:16]}",
            highlight=False,
            markup=False,
        )


# -- acting -------------------------------------------------------------------------------------------


@enterprise_app.command("attest")
def enterprise_attest(
    person: str = typer.Argument(..., help="The worker: their public key, or their name once their profile is here."),
    enterprise: str = typer.Option(..., "--enterprise", help="The enterprise they work in (you must be its signer)."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Attest that PERSON works in your enterprise: the first step of their admission."""
    with _node(data_dir) as node:
        body = Attest(_enterprise(node, enterprise), _person(node, person))
        _done(_act(node, body), "attested", as_json)


@app.command()
def accept(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Accept the attestation made for you and ask to be admitted (after `enterprise attest`)."""
    with _node(data_dir) as node:
        mine = [aid for aid, a in node.state.state.tables["attestations"].items() if a.person == node.key.public]
        if not mine:
            raise NodeError(
                "no attestation for you is on the chain yet: ask a signer of your enterprise to run "
                "`commune enterprise attest` with your key, then sync and try again",
                reason="no_attestation",
            )
        _done(_act(node, Accept(mine[-1])), "accepted; you are admitted with the next block", as_json)
        name = _own_profile_name(node)
        if name and node.key.public not in node.state.state.tables["names"]:
            _act(node, Profile(name), check=False)  # after the acceptance


@app.command(context_settings=AMOUNT_ARGS)
def deposit(
    amount: str = typer.Argument(..., help="How much you sent to the commune's bank, e.g. '1,250.00' or '1250 EUR'."),
    reference: str = typer.Option("", "--reference", help="The bank transfer's reference, for the treasurer."),
    enterprise: str = typer.Option(
        "", "--enterprise", help="Credit it to this enterprise's account (you must sign for it), not your own."
    ),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Say you sent money to the commune's bank; a steward confirms it when it arrives."""
    with _node(data_dir) as node:
        account = _enterprise(node, enterprise) if enterprise else node.key.public
        body = Deposit(account, _amount(node, amount), _text(reference, "the reference"))
        _done(_act(node, body), "deposit noted", as_json)


@steward_app.command("confirm-deposit")
def confirm_deposit(
    deposit_id: str = typer.Argument(..., help="The deposit entry's id (hex; a unique prefix will do)."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Confirm that a deposit arrived in the bank: it becomes the depositor's credit."""
    with _node(data_dir) as node:
        deposits = {pid: p for pid, p in node.state.state.tables["pending"].items() if p.kind == "deposit"}
        pid, p = _by_prefix(
            deposits,
            deposit_id,
            "deposit awaiting confirmation",
            "`commune pending` lists those awaiting confirmation; sync first if it is not there",
            "unknown_deposit",
        )
        _done(_act(node, ConfirmDeposit(pid, p.amount)), "deposit confirmed", as_json)


@steward_app.command("confirm-payment")
def confirm_payment(
    payment_id: str = typer.Argument(
        ..., help="The withdrawal's or purchase's id, as `commune pending` shows it (a unique prefix will do)."
    ),
    reference: str = typer.Option("", "--reference", help="The bank's reference for the payment, for the record."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Confirm that the bank paid a withdrawal, or a vendor for an asset the commune bought."""
    with _node(data_dir) as node:
        payments = {
            pid: p for pid, p in node.state.state.tables["pending"].items() if p.kind in ("withdrawal", "purchase")
        }
        pid, p = _by_prefix(
            payments,
            payment_id,
            "payment awaiting confirmation",
            "`commune pending` lists the withdrawals and purchases the bank is to pay; sync first if it is not there",
            "unknown_withdrawal",
        )
        currency = node.state.genesis.charter.currency
        _done(
            _act(node, ConfirmPayment(pid, _text(reference, "the reference"))),
            f"payment of {format_amount(p.amount, currency)} to {p.reference or 'the payee'} confirmed",
            as_json,
        )


@app.command(context_settings=AMOUNT_ARGS)
def transfer(
    to: str = typer.Argument(..., help="Who gets it: a name or a public key."),
    amount: str = typer.Argument(..., help="How much, e.g. '25.50'."),
    memo: str = typer.Option("", "--memo", help="What it is for."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Pay from your account to another participant, or to an enterprise."""
    with _node(data_dir) as node:
        body = Transfer(_payee(node, to), _amount(node, amount), _text(memo, "the memo"))
        _done(_act(node, body), "transfer signed", as_json)


@app.command(context_settings=AMOUNT_ARGS)
def withdraw(
    amount: str = typer.Argument(..., help="How much to take out, e.g. '200.00'."),
    payee: str = typer.Option(..., "--payee", help="Where the bank pays it: your name and IBAN, as written."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Take money out of your account: a steward pays it from the commune's bank."""
    with _node(data_dir) as node:
        body = Withdraw(_amount(node, amount), _text(payee, "the payee", required=True))
        _done(_act(node, body), "withdrawal signed; a steward pays it from the bank", as_json)


@enterprise_app.command("pay", context_settings=AMOUNT_ARGS)
def enterprise_pay(
    to: str = typer.Argument(..., help="Who gets it: a name, a public key, or an enterprise's name."),
    amount: str = typer.Argument(..., help="How much, e.g. '80.00'."),
    enterprise: str = typer.Option(..., "--enterprise", help="The enterprise that pays (you must be its signer)."),
    memo: str = typer.Option("", "--memo", help="What it is for."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Pay from an enterprise's account. If it needs more than one signer, the others approve it."""
    with _node(data_dir) as node:
        eid = _enterprise(node, enterprise)
        body = EnterpriseTransfer(eid, _payee(node, to), _amount(node, amount), _text(memo, "the memo"))
        k = node.state.state.tables["enterprises"][eid].k
        what = "payment signed" if k <= 1 else f"payment signed; it is made once {k} signers stand behind it"
        _done(_act(node, body), what, as_json)


@enterprise_app.command("signers")
def enterprise_signers(
    enterprise: str = typer.Argument(..., help="The enterprise (you must be one of its signers)."),
    signer: list[str] = typer.Option(..., "--signer", help="A signer from now on (name or key; repeatable)."),
    k: int = typer.Option(1, "--k", min=1, max=64, help="How many of them must stand behind each act."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Name your enterprise's signers anew (a signer leaves, another joins); its present signers agree, k of them."""
    with _node(data_dir) as node:
        eid = _enterprise(node, enterprise)
        signers = tuple(_person(node, s) for s in signer)
        ent = node.state.state.tables["enterprises"][eid]
        result = _act(node, SetSigners(eid, signers, k))
        what = f"{ent.name}'s signers named: {len(signers)}, {k} of them to act"
        if ent.k > 1:
            what = f"{what}, once {ent.k} of its present signers stand behind it"
        _done(result, what, as_json)


@enterprise_app.command("approve")
def enterprise_approve(
    payment: str = typer.Argument(
        ..., metavar="ACT", help="The act's id, as `enterprise pending` shows it (a prefix will do)."
    ),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Stand behind another signer's act for your enterprise: a payment, a rent payment or notice."""
    with _node(data_dir) as node:
        sid, _ = _by_prefix(
            node.state.state.tables["spends"],
            payment,
            "enterprise act awaiting approval",
            "`commune enterprise pending` lists those of your enterprises; sync first if it is not there",
            "unknown_spend",
        )
        _done(_act(node, Approve(sid)), "approved", as_json)


def _waiting_act(state: CommuneState, spend, names: dict[bytes, str]) -> str:
    """A waiting enterprise act in words."""
    currency = state.charter.currency
    if spend.act in ENTRY_ACTS:
        body = body_of(spend)
        if isinstance(body, SetSigners):
            who = ", ".join(names.get(k, k.hex()[:16]) for k in body.signers)
            return f"name its signers anew: {who}, {body.k} of them to act"
        if isinstance(body, Offer):
            return (
                f"offer {body.description!r} for the commune to buy at {format_amount(body.price, currency)},"
                f" rent {format_amount(body.rent, currency)} a period for {body.lease_periods} periods"
            )
        asset = state.tables["assets"].get(body.offer if not isinstance(body, ReletBid) else body.asset)
        what = repr(asset.description) if asset is not None else "an asset"
        if isinstance(body, RetryOffer):
            return f"offer {what} again at rent {format_amount(body.rent, currency)} a period"
        if isinstance(body, ReletBid):
            return (
                f"bid to rent {what} at {format_amount(body.rent, currency)} a period for {body.lease_periods} periods"
            )
        return f"withdraw the offer of {what}"
    asset = state.tables["assets"].get(spend.asset) if spend.asset else None
    what = repr(asset.description) if asset is not None else spend.asset.hex()[:16]
    if spend.act == "rent":
        return f"pay {format_amount(spend.amount, currency)} rent for {what}"
    if spend.act == "notice":
        return f"give notice on {what}"
    to = participant_of(spend.payee)
    payee = names.get(to, to.hex()[:16]) if to is not None else spend.payee
    if spend.payee.startswith("e:"):
        ent = state.tables["enterprises"].get(bytes.fromhex(spend.payee[2:]))
        payee = ent.name if ent is not None else spend.payee
    memo = f" ({spend.memo})" if spend.memo else ""
    return f"pay {format_amount(spend.amount, currency)} to {payee}{memo}"


@enterprise_app.command("pending")
def enterprise_pending(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The acts of your enterprises waiting for more of their signers, and whether you signed each."""
    with _node(data_dir) as node:
        state = node.state.state
        me = node.key.public
        names = _names(state)
        rows = []
        for sid, spend in sorted(state.tables["spends"].items(), key=lambda kv: (kv[1].height, kv[0])):
            ent = state.tables["enterprises"].get(spend.enterprise)
            if ent is None or me not in ent.signers:
                continue
            rows.append(
                {
                    "id": sid.hex(),
                    "enterprise": ent.name,
                    "act": spend.act,
                    "what": _waiting_act(state, spend, names),
                    "amount_minor": spend.amount,
                    "asset": spend.asset.hex(),
                    "signed": [names.get(a, a.hex()[:16]) for a in spend.approvers],
                    "needed": ent.k,
                    "signed_by_you": me in spend.approvers,
                }
            )
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("nothing of your enterprises waits for approval", highlight=False)
        return
    for r in rows:
        mine = "you signed it" if r["signed_by_you"] else f"approve: commune enterprise approve {r['id'][:16]}"
        console.print(
            f"{r['id'][:16]}  {r['enterprise']}: {r['what']} — signed by {', '.join(r['signed'])}"
            f" ({len(r['signed'])} of {r['needed']}); {mine}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _amount(node: Node, text: str, *, zero_ok: bool = False) -> int:
    """An amount as a person types it, in the commune's currency, in minor units; more than zero
    (or zero, with `zero_ok`)."""
    minor = parse_money(text, node.state.genesis.charter.currency).minor
    if minor < 0 or (minor == 0 and not zero_ok):
        raise NodeError(f"the amount must be {'zero or more' if zero_ok else 'more than zero'}", reason="bad_amount")
    return minor


def _by_prefix(rows: dict[bytes, T], prefix: str, what: str, hint: str, reason: str) -> tuple[bytes, T]:
    """The one row whose id (hex) starts with `prefix`; a plain error naming `what` otherwise."""
    found = [(rid, row) for rid, row in rows.items() if rid.hex().startswith(prefix.lower())]
    if len(found) != 1:
        raise NodeError(
            f"{'no' if not found else 'more than one'} {what} matches {prefix!r}; {hint}",
            reason=reason,
        )
    return found[0]


@propose_app.command("register-enterprise")
def propose_register_enterprise(
    name: str = typer.Argument(..., help="The enterprise's name."),
    signer: list[str] = typer.Option(..., "--signer", help="A signer of its account (name or key; repeatable)."),
    k: int = typer.Option(1, "--k", min=1, help="How many signers must sign a spend."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the vote stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose to register a member enterprise."""
    with _node(data_dir) as node:
        motion = RegisterEnterpriseMotion(name, tuple(_person(node, s) for s in signer), k)
        _done(_act(node, Propose(motion, _deadline(node, days))), "proposed", as_json)


@propose_app.command("elect-steward")
def propose_elect_steward(
    person: str = typer.Argument(..., help="The member to elect (name or key)."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the vote stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose to elect a member as a steward."""
    with _node(data_dir) as node:
        _done(
            _act(node, Propose(ElectStewardMotion(_person(node, person)), _deadline(node, days))),
            "proposed",
            as_json,
        )


@propose_app.command("change-charter")
def propose_change_charter(
    parameter: str = typer.Argument(..., help="The charter parameter, e.g. probation_days."),
    value: str = typer.Argument(..., help="Its new value, e.g. 60 or 3/4."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the vote stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose to change a charter parameter (it needs the charter's supermajority)."""
    with _node(data_dir) as node:
        motion = ChangeCharterMotion(
            _text(parameter.strip(), "the parameter", 64), _text(value.strip(), "the value", 64)
        )
        _done(_act(node, Propose(motion, _deadline(node, days))), "proposed", as_json)


@propose_app.command("expel-enterprise")
def propose_expel_enterprise(
    enterprise: str = typer.Argument(..., help="The enterprise's name."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the vote stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose to expel a member enterprise."""
    with _node(data_dir) as node:
        motion = ExpelEnterpriseMotion(_enterprise(node, enterprise))
        _done(_act(node, Propose(motion, _deadline(node, days))), "proposed", as_json)


@propose_app.command("recall-steward")
def propose_recall_steward(
    steward: str = typer.Argument(..., help="The steward to recall (name or key)."),
    successor: str = typer.Option(..., "--successor", help="The member who takes over the duty (name or key)."),
    days: int = typer.Option(14, "--days", min=1, max=365, help="Days the vote stays open."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Propose to recall a steward and name their successor."""
    with _node(data_dir) as node:
        motion = RecallStewardMotion(_person(node, steward), _person(node, successor))
        _done(_act(node, Propose(motion, _deadline(node, days))), "proposed", as_json)


def _deadline(node: Node, days: int) -> int:
    return max(node.clock.now_ms(), node.state.state.time_ms) + days * DAY_MS


@app.command()
def vote(
    proposal: str = typer.Argument(..., help="The proposal's id (hex; a unique prefix will do)."),
    choice: str = typer.Argument(..., help="yes, no or abstain."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Vote on an open proposal."""
    with _node(data_dir) as node:
        if choice not in ("yes", "no", "abstain"):
            raise CommuneError(f"{choice!r} is not a vote: write yes, no or abstain", reason="bad_choice")
        # Every proposal, open or not: the rules say why a closed one takes no vote.
        pid, _ = _by_prefix(
            node.state.state.tables["proposals"],
            proposal,
            "proposal",
            "`commune proposals` lists them; sync first, or give more of its id",
            "unknown_proposal",
        )
        _done(_act(node, Vote(pid, choice)), f"voted {choice}", as_json)


@app.command()
def delegate(
    topic: str = typer.Argument(..., help=f"What the delegation covers: {', '.join(sorted(TOPICS))}."),
    person: str | None = typer.Argument(None, help="The member who votes for you on it (name or key)."),
    revoke: bool = typer.Option(False, "--revoke", help="Take the delegation on TOPIC back."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Let another member vote for you on a topic, until you take it back. Your own vote always counts first."""
    with _node(data_dir) as node:
        if topic not in TOPICS:
            raise NodeError(f"{topic!r} is not a topic; the topics are {', '.join(sorted(TOPICS))}", reason="bad_topic")
        if revoke == (person is not None):
            raise NodeError("name the member to delegate to, or give --revoke (not both)", reason="bad_delegation")
        names = _names(node.state.state)
        if revoke:
            _done(_act(node, Delegate(topic)), f"delegation on {topic} revoked", as_json)
            return
        to = _person(node, person)
        _done(_act(node, Delegate(topic, to)), f"{names.get(to, person)} votes for you on {topic}", as_json)


@app.command()
def delegations(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Whom you delegated your vote to, and who delegated theirs to you, by topic."""
    with _node(data_dir) as node:
        me = node.key.public
        names = _names(node.state.state)
        rows = [
            {
                "from": names.get(delegator, delegator.hex()[:16]),
                "from_key": delegator.hex(),
                "topic": topic,
                "to": names.get(to, to.hex()[:16]),
                "to_key": to.hex(),
            }
            for (delegator, topic), to in sorted(node.state.state.tables["delegations"].items())
            if me in (delegator, to) and to
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("no delegations to or from you (`commune delegate TOPIC PERSON` makes one)")
    for r in rows:
        console.print(f"{r['topic']:<13} {r['from']} -> {r['to']}", highlight=False, markup=False)


@app.command()
def proposals(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The proposals, open and closed, with their tallies."""
    with _node(data_dir) as node:
        state = node.state.state
        rows = []
        for pid, p in state.tables["proposals"].items():
            # An open proposal's tally moves with votes and delegations; a closed one keeps its count.
            yes, no = tally(state, pid, p) if p.status == "open" else (p.yes, p.no)
            rows.append(
                {
                    "id": pid.hex(),
                    "status": p.status,
                    "motion": _describe_motion(node, _motion_decoder.decode(p.motion)),
                    "yes": yes,
                    "no": no,
                    "needed": p.needed,
                    "electorate": p.electorate,
                    "deadline_ms": p.deadline_ms,
                    "deadline": iso_date(p.deadline_ms),
                }
            )
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("no proposals yet (`commune propose` puts one to the vote)")
    for r in rows:
        console.print(
            f"{r['id'][:16]}  {r['status']:<8} {r['motion']}: {r['yes']} yes, {r['no']} no, "
            f"{r['needed']} of {r['electorate']} needed, closes {r['deadline']}",
            highlight=False,
            markup=False,
        )


def _describe_motion(node: Node, motion: object) -> str:
    names = _names(node.state.state)
    if isinstance(motion, RegisterEnterpriseMotion):
        return f"register enterprise {motion.name!r}"
    if isinstance(motion, ElectStewardMotion):
        return f"elect {names.get(motion.steward, motion.steward.hex()[:16])} steward"
    if isinstance(motion, ChangeCharterMotion):
        return f"set the charter's {motion.parameter} to {motion.value}"
    if isinstance(motion, ExpelEnterpriseMotion):
        ent = node.state.state.tables["enterprises"].get(motion.enterprise)
        return f"expel enterprise {ent.name if ent else motion.enterprise.hex()[:16]!r}"
    if isinstance(motion, RecallStewardMotion):
        who = names.get(motion.steward, motion.steward.hex()[:16])
        return f"recall steward {who}, {names.get(motion.successor, motion.successor.hex()[:16])} to take over"
    return type(motion).__name__.removesuffix("Motion")


@app.command()
def pending(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Deposits, withdrawals and purchases waiting for a steward to confirm them with the bank."""
    with _node(data_dir) as node:
        currency = node.state.genesis.charter.currency
        assets = node.state.state.tables["assets"]
        rows = [
            {
                "id": pid.hex(),
                "kind": p.kind,
                "amount_minor": p.amount,
                # A purchase pays the vendor of the asset its id names (rule 12).
                "who": f"{assets[pid].description} (asset)"
                if p.kind == "purchase" and pid in assets
                else _account_name(node, p.account),
                "reference": p.reference,
            }
            for pid, p in node.state.state.tables["pending"].items()
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("nothing awaits a steward's confirmation")
    for r in rows:
        console.print(
            f"{r['id'][:16]}  {r['kind']:<10} {format_amount(r['amount_minor'], currency):>14}  {r['who']}"
            + (f"  {'ref' if r['kind'] == 'deposit' else 'pay to'} {r['reference']}" if r["reference"] else ""),
            highlight=False,
            markup=False,
        )
