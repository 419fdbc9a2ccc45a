"""The foundation demo: two people, two stores, signed feeds copied and checked.

It runs on a simulated clock that both nodes share (the documented test-and-demo option); a
real node reads the system clock. Later issues replace this with the year of a commune.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from rich.table import Table

from commune.core.clock import ManualClock
from commune.core.hashing import blake2b256, short_hex
from commune.core.keyfile import create_key_file, load_key_file
from commune.core.money import format_amount
from commune.core.rates import format_percent
from commune.log.bodies import (
    Accept,
    Attest,
    Bid,
    ChangeCharterMotion,
    ConfirmDeposit,
    ConfirmPayment,
    Deposit,
    Note,
    Offer,
    PayRent,
    Profile,
    Propose,
    Transfer,
    Vote,
)
from commune.log.entry import sign_entry
from commune.log.feed import FeedWriter
from commune.log.refusal import Refused
from commune.log.store import EntryStore
from commune.rules import accounts
from commune.rules.charter import DAY_MS, MONTH_MS
from commune.rules.invariants import bank_equation
from commune.sim.world import World

MINUTE_MS = 60_000


def run_demo(console: Console, keep: Path | None = None) -> None:
    with ExitStack() as stack:
        if keep is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="commune-demo-")))
        else:
            root = keep
            root.mkdir(parents=True, exist_ok=True)
        _run(console, root, stack)


def _run(console: Console, root: Path, stack: ExitStack) -> None:
    clock = ManualClock()
    commune = blake2b256(b"commune demo: the bakery federation")
    console.rule("[bold]commune demo: signed feeds")
    console.print(f"working in {root} on a simulated clock shared by both nodes")
    console.print(f"commune id {short_hex(commune)}… (later issues derive it from the founding block)\n")

    people = {}
    for name in ("ana", "ben"):
        home = root / name
        home.mkdir(exist_ok=True)
        key_path = home / "secret.key"
        if not key_path.exists():
            create_key_file(key_path)
        key = load_key_file(key_path)
        store = stack.enter_context(EntryStore(home / "entries.sqlite", commune, clock=clock))
        people[name] = (key, store, FeedWriter(store, key))
        console.print(f"{name}: key {short_hex(key.public)}… in {key_path} (mode 600), store {home / 'entries.sqlite'}")

    ana_key, ana_store, ana = people["ana"]
    ben_key, ben_store, ben = people["ben"]

    console.print("\n[bold]1. Each appends to their own feed[/]")
    ana_entries = [
        ana.append(Profile("Ana (Bakery Co-op)", ("127.0.0.1:7401",))),
        ana.append(Note("The bakery asks for a second oven.")),
        ana.append(Note("Quote from the oven vendor attached to the offer.")),
    ]
    clock.advance(5 * MINUTE_MS)
    ben.append(Profile("Ben (Bicycle Workshop)", ("127.0.0.1:7402",)))
    ben.append(Note("The workshop will bid on the oven bonds."))
    for entry in ana_entries:
        console.print(f"  ana #{entry.seq} {entry.kind:8s} id {short_hex(entry.id)}… signed, stored")
    console.print(f"  ben has {ben_store.frontier()[ben_key.public]} entries of his own")

    console.print("\n[bold]2. Ben copies Ana's feed into his store; every signature and link is checked[/]")
    copied = ana_store.raws_after(ana_key.public, 0)
    report = ben_store.ingest(copied)
    console.print(f"  {len(copied)} entries received: {report}")
    report = ben_store.ingest(copied)
    console.print(f"  the same entries sent again (a replay): {report}")

    clock.advance(MINUTE_MS)
    reply = ben.append(Note("Seen: the oven offer."), refs=(ana_entries[2].id,))
    console.print(f"  ben #{reply.seq} refers to ana #{ana_entries[2].seq} ({short_hex(ana_entries[2].id)}…)")

    console.print("\n[bold]3. What a node refuses, and why[/]")
    tampered = bytearray(copied[1])
    tampered[-3] ^= 0x01
    bad_sig = bytearray(copied[1])
    bad_sig[5] ^= 0x01
    cases = [
        ("a changed byte in Ana's note", bytes(tampered)),
        ("a damaged signature", bytes(bad_sig)),
        ("Ana's #3 before her #2", copied[2]),
        ("random bytes", b"\x93\x01\x02" * 30),
    ]
    with EntryStore(root / "carol.sqlite", commune, clock=clock) as carol:
        carol.ingest(copied[:1])
        console.print("  (a third store, which holds Ana's #1)")
        for what, raw in cases:
            try:
                carol.ingest([raw])
                console.print(f"  {what}: [red]accepted (this is a bug)[/]")
            except Refused as exc:
                console.print(f"  {what}: {exc.message}")
        console.print(f"  that store still holds {carol.count()} entry")

    console.print("\n[bold]4. A fork: Ana's key signs a second, different entry #3[/]")
    head2 = ana_store.get(ana_key.public, 2)
    assert head2 is not None
    forked = sign_entry(
        ana_key,
        commune=commune,
        seq=3,
        prev=head2.id,
        time_ms=clock.now_ms(),
        chain_ref=commune,
        body=Note("A different quote, signed at the same position."),
    )
    report = ben_store.ingest([forked])
    proof = report.forks[0]
    author, seq = proof.check(commune)
    console.print(f"  ben's node: {report}; the proof checks on its own: feed {short_hex(author)}… frozen from #{seq}")
    clock.advance(MINUTE_MS)
    late = sign_entry(
        ana_key,
        commune=commune,
        seq=4,
        prev=ana_entries[2].id,
        time_ms=clock.now_ms(),
        chain_ref=commune,
        body=Note("Anything after the fork no longer counts."),
    )
    console.print(f"  a later entry of the frozen feed: {ben_store.ingest([late])}")

    console.print()
    table = Table(title="What each node holds")
    table.add_column("node")
    table.add_column("feed")
    table.add_column("entries", justify="right")
    table.add_column("frozen from", justify="right")
    for name, (_, store, _) in people.items():
        frozen = store.frozen()
        for author, seq in sorted(store.frontier().items()):
            owner = "ana" if author == ana_key.public else "ben" if author == ben_key.public else "?"
            table.add_row(
                name, f"{owner} {short_hex(author)}…", str(seq), f"#{frozen[author]}" if author in frozen else ""
            )
    console.print(table)
    _chain_story(console, root / "commune")
    console.print(
        "\nNext: `make test` runs the tests; bench/ingest.py and bench/chain.py measure speed. "
        "See docs/protocol.md for the entry and block formats."
    )


def _chain_story(console: Console, root: Path) -> None:
    """Founding a commune, admitting a worker, moving money and deciding, on two nodes: the
    steward's, which builds blocks, and a member's, which checks every block for itself."""
    console.rule("[bold]5. A commune on its chain")
    world = World(
        root,
        ["ana", "ben", "cy"],
        enterprises={"bakery": ["ana"], "workshop": ["ben"]},
        steward="ana",
        nodes=["ana", "ben"],
    )
    world.home["ben"] = "ben"
    try:
        _play(console, world)
    finally:
        world.close()


def _oven(console: Console, w: World, act, settle, money) -> None:
    """An oven bought with bonds, rented to the workshop for a few months, its rent shared out."""
    workshop = w.enterprise_ids["workshop"]
    dep = act("ben", Deposit(workshop, 100_00))
    settle("ben pays 100.00 into the workshop's account")
    act("ana", ConfirmDeposit(dep.id, dep.body.amount), (dep.id,))
    settle("the steward confirms it")
    offer = act(
        "ben",
        Offer(
            renter=workshop,
            description="an oven",
            price=300_00,
            rent=30_00,
            costs=1_00,
            lease_periods=24,
            term_periods=12,
            bonds=3,
            vendor_payee="Oven Works GmbH",
            valuation=bytes(32),
            deadline_ms=w.clock.now_ms() + DAY_MS,
        ),
    )
    asset = w.nodes["ana"].state.state.tables
    settle("the workshop offers: an oven of 300.00 in 3 bonds of 100.00, rent 30.00 a month for 24 months")
    r_max = asset["assets"][offer.id]
    console.print(
        f"  the rent can pay at most {format_percent(Fraction(r_max.reserve_num, r_max.reserve_den) * 12)} "
        "a year: bids above that are refused"
    )
    act("ana", Bid(offer.id, 2, 1, 25))
    act("dee", Bid(offer.id, 1, 3, 50))
    act("ben", Bid(offer.id, 1, 3, 10))
    settle("sealed bids: ana 2 bonds at 4 %, dee 1 at 6 %, ben 1 at 30 %")
    w.clock.advance(2 * DAY_MS)
    settle("the deadline passed: the block clears the auction")
    a = asset["assets"][offer.id]
    console.print(
        f"  cleared at {format_percent(Fraction(a.coupon_num, a.coupon_den))}: every winner gets that "
        f"coupon; the oven is {a.state}, level debt service {money(a.payment)} a month"
    )
    act("ana", ConfirmPayment(offer.id, "paid the vendor"), (offer.id,))
    settle("the steward pays the vendor from the escrowed money")
    for month in range(1, 4):
        act("ben", PayRent(offer.id, 30_00))
        w.clock.set(w.genesis.time_ms + (month + 1) * MONTH_MS + 1)
        settle(f"month {month + 1} ends: rent, costs, debt service to the holders, surplus to the reserve")
    a = asset["assets"][offer.id]
    console.print(f"  the oven's series owes {money(a.outstanding)} after 3 months; reserve {money(a.reserve)}")


def _play(console: Console, w: World) -> None:
    money = lambda minor: format_amount(minor, "EUR")  # noqa: E731
    console.print(
        f"  founded: commune id {short_hex(w.commune)}… (the hash of its genesis block); "
        "ana, ben, cy are founders, ana is the steward"
    )

    def settle(what: str) -> None:
        w.clock.advance(MINUTE_MS)
        w.sync("ben", "ana")
        block = w.block()
        w.sync("ana", "ben")
        refusals = [e.reason for e in block.decoded().effects if type(e).__name__ == "Refuse"]
        note = f"; refused: {', '.join(refusals)}" if refusals else ""
        console.print(f"  block {block.decoded().height}: {what}{note}")

    def act(person: str, body, refs=()):
        w.clock.advance(1000)
        return w.act(person, body, refs)

    bakery = w.enterprise_ids["bakery"]
    att = act("ana", Attest(bakery, w.pub("dee")))
    settle("ana, a signer of the bakery, attests that dee works there")
    act("dee", Accept(att.id), (att.id,))
    settle("dee accepts and is admitted (on probation: no vote for 90 days)")
    deposits = [act("ana", Deposit(w.pub("ana"), 500_00)), act("ben", Deposit(w.pub("ben"), 200_00))]
    settle("ana and ben tell the steward they paid 500.00 and 200.00 into the bank")
    for dep in deposits:
        act("ana", ConfirmDeposit(dep.id, dep.body.amount), (dep.id,))
    settle("the steward confirms both deposits from the bank statement")
    act("ana", Transfer(w.pub("dee"), 120_00, "welcome"))
    act("ben", Transfer(w.pub("cy"), 250_00, "more than he has"))
    settle("ana pays dee 120.00; ben tries to pay cy 250.00")
    prop = act("ben", Propose(ChangeCharterMotion("probation_days", "30"), w.clock.now_ms() + 7 * DAY_MS))
    settle("ben proposes a 30-day probation (a charter change needs 2 of the 3 voting members)")
    act("dee", Vote(prop.id, "yes"))
    act("ana", Vote(prop.id, "yes"))
    act("cy", Vote(prop.id, "yes"))
    settle("dee, on probation, tries to vote; ana and cy vote yes")
    state = w.nodes["ben"].state.state
    console.print(
        f"  the proposal {state.tables['proposals'][prop.id].status}; "
        f"probation is now {state.charter.probation_days} days"
    )

    _oven(console, w, act, settle, money)

    table = Table(title="Balances (EUR) as ben's node derives them")
    table.add_column("account")
    table.add_column("balance", justify="right")
    for name in ("ana", "ben", "cy", "dee"):
        table.add_row(name, money(state.claim(accounts.participant_account(w.pub(name)))))
    bank, claims, own = bank_equation(state)
    table.add_row("[bold]bank[/]", money(bank))
    console.print(table)
    console.print(f"  bank {money(bank)} = claims {money(claims)} + the commune's own funds {money(own)}")
    for name, node in w.nodes.items():
        console.print(f"  {name}'s node: height {node.state.height}, state digest {node.state.digest().hex()[:16]}")
