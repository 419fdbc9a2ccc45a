"""Convergence (issue 3; DESIGN 3, "Determinism"): five nodes that hear of each other's entries
and blocks late, twice, out of order or not at all, and that are cut into partitions, hold one
and the same state once the network heals.

Hypothesis writes the schedule: on which node each person acts and what they do (deposits the
steward confirms, transfers of which some overdraw, withdrawals and their payment, proposals,
votes, delegation, a newcomer's admission, leaving), when the steward's node builds a block,
which node hears from which and how badly (a feed lost, sent again, split and delivered back to
front, or missing its first entry; blocks shuffled, sent twice, lost, or delivered before the
entries they name), and how the network is partitioned. People act while cut off from the
steward, whose node goes on building blocks; their entries reach it later, often by way of other
nodes. Each example opens the founders' accounts, then runs one or more schedules in turn on
the same commune. After each, the network heals and every node syncs with the steward's node,
both ways, until nothing moves; then:

- every node holds every entry and the steward's whole chain, which has taken every entry in;
- every node's state digest is the steward node's;
- the invariants (`rules.invariants`) held after every block on every node;
- the money is what `Reckoning`, an account kept here from the rules as the design states them,
  says of the chain: each person's claim, the bank, what it owes, and which entries were refused.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commune.chain.block import Header, decode_block
from commune.chain.refusal import BlockPending, BlockReason, BlockRefused
from commune.log import bodies
from commune.log.entry import Entry
from commune.log.refusal import Reason, Refused
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.effects import Refuse
from commune.rules.invariants import violations
from commune.sim.world import SimNode, World

NODES = ("n0", "n1", "n2", "n3", "n4")
#: The node the steward acts on and builds blocks on.
STEWARD_NODE = "n0"
#: The founders; ana is the steward, and ana and bo sign for the bakery.
FOUNDERS = ("ana", "bo", "cy", "di", "ed")
#: Joins through the bakery during a schedule.
NEWCOMER = "fay"
PEOPLE = (*FOUNDERS, NEWCOMER)
#: More than all the money a schedule brings in: a transfer of this much is always refused.
OVERDRAW = 10**9
#: What each founder deposits before a schedule starts (a few transfers' worth: some overdraw).
OPENING = 600
#: Why a node may drop a batch of entries from a bad link: a gap in its feed, or a reference not
#: held yet.
ENTRY_LOSS = {Reason.SEQ_GAP, Reason.MISSING_REF}
#: Rounds of syncing with the steward's node after a heal before the test gives up on quiet.
HEAL_ROUNDS = 12

# -- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """`person` does `what` on their home node; `pick` chooses among the things it could be
    about (whom to pay, which deposit to confirm, ...), `amount` sets a sum or a choice."""

    what: str
    person: str
    pick: int
    amount: int


@dataclass(frozen=True)
class Build:
    """The steward's node builds a block from everything it holds."""


@dataclass(frozen=True)
class Deliver:
    """`dst` hears from `src` (nothing if they are one node): over a good link when `seed` is
    None, else over a bad one that `seed` makes go wrong."""

    src: str
    dst: str
    blocks_first: bool
    seed: int | None


@dataclass(frozen=True)
class Partition:
    """Nodes on different sides (by position in NODES) hear nothing from each other."""

    sides: tuple[int, ...]


@dataclass(frozen=True)
class Wait:
    ms: int


Operation = Act | Build | Deliver | Partition | Wait

#: What people do in a schedule: who does it, and how often against the rest. Only the steward
#: confirms, only the bakery's signers attest and only the newcomer accepts (anyone else would
#: only be refused), and the steward does not leave.
ACTORS: dict[str, tuple[tuple[str, ...], int]] = {
    "deposit": (FOUNDERS, 1),
    "transfer": (FOUNDERS, 4),
    "overdraw": (FOUNDERS, 1),
    "withdraw": (FOUNDERS, 1),
    "confirm_deposit": (("ana",), 1),
    "confirm_payment": (("ana",), 1),
    "propose": (FOUNDERS, 1),
    "vote": (PEOPLE, 4),
    "delegate": (FOUNDERS, 1),
    "attest": (("ana", "bo"), 1),
    "accept": ((NEWCOMER,), 1),
    "leave": (FOUNDERS[1:], 1),
    "note": (PEOPLE, 1),
}


def acts() -> st.SearchStrategy[Act]:
    """An act, drawn by weight, by one of those who may do it."""
    weighted = [what for what, (_, weight) in ACTORS.items() for _ in range(weight)]

    def act(what: str, who: int, pick: int, amount: int) -> Act:
        actors = ACTORS[what][0]
        return Act(what, actors[who % len(actors)], pick, amount)

    return st.builds(
        act, st.sampled_from(weighted), st.integers(0, len(PEOPLE) - 1), st.integers(0, 7), st.integers(1, 500)
    )


def operations() -> st.SearchStrategy[Operation]:
    """Acting and delivering are the most frequent; blocks, partitions and pauses come between."""
    delivers = st.builds(
        Deliver, st.sampled_from(NODES), st.sampled_from(NODES), st.booleans(), st.none() | st.integers(0, 2**16)
    )
    return st.one_of(
        acts(),
        acts(),
        acts(),
        delivers,
        delivers,
        st.just(Build()),
        st.builds(Partition, st.tuples(*[st.integers(0, 1)] * len(NODES))),
        st.builds(Wait, st.integers(1, 60_000)),
    )


def homes() -> st.SearchStrategy[dict[str, str]]:
    """Where everyone but the steward acts."""
    return st.fixed_dictionaries({person: st.sampled_from(NODES) for person in PEOPLE if person != "ana"})


# -- the network ----------------------------------------------------------------------------


class Network:
    """A commune on five in-memory nodes, how its network is partitioned, and what was done on it."""

    def __init__(self, homes: dict[str, str]) -> None:
        self.world = World(
            None, list(FOUNDERS), enterprises={"bakery": ["ana", "bo"]}, steward="ana", nodes=list(NODES)
        )
        self.world.home.update(homes, ana=STEWARD_NODE)
        self.side = dict.fromkeys(NODES, 0)
        #: Per node, the heights of the blocks after which its invariants were checked.
        self.checked: dict[str, list[int]] = {name: [] for name in NODES}
        #: Entries made, by what the test made them for.
        self.made: dict[str, list[Entry]] = defaultdict(list)
        #: Deposits and withdrawals the steward has confirmed.
        self.confirmed: set[bytes] = set()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.world.close()

    def node(self, name: str) -> SimNode:
        return self.world.nodes[name]

    @property
    def steward(self) -> SimNode:
        return self.node(STEWARD_NODE)

    # -- doing --------------------------------------------------------------------------------

    def run(self, schedule: list[Operation]) -> None:
        for op in schedule:
            match op:
                case Act():
                    self.perform(op)
                case Build():
                    self.build()
                case Deliver(src, dst, blocks_first, seed) if src != dst:
                    rng = None if seed is None else random.Random(seed)
                    self.deliver(src, dst, blocks_first=blocks_first, rng=rng)
                case Partition(sides):
                    self.partition(sides)
                case Wait(ms):
                    self.world.clock.advance(ms)

    def act(self, person: str, body: bodies.Body, refs: tuple[bytes, ...] = (), made_for: str = "") -> Entry:
        """A second later, `person` signs `body` on their home node (kept under `made_for`)."""
        self.world.clock.advance(1_000)
        entry = self.world.act(person, body, refs)
        if made_for:
            self.made[made_for].append(entry)
        return entry

    def build(self) -> Header:
        """A second later, the steward's node builds a block; its invariants are checked."""
        self.world.clock.advance(1_000)
        block = self.world.block(node=STEWARD_NODE)
        self.check(self.steward)
        return block.decoded()

    def open_accounts(self, amount: int) -> None:
        """Every founder deposits `amount` on their home node, the steward confirms the deposits
        in the first block, and every node receives it: the schedule starts with money to move."""
        deposits = [self.act(p, bodies.Deposit(self.world.pub(p), amount), made_for="deposit") for p in FOUNDERS]
        for node in NODES[1:]:
            self.deliver(node, STEWARD_NODE)
        for deposit in deposits:
            self.confirmed.add(deposit.id)
            self.act("ana", bodies.ConfirmDeposit(deposit.id, amount), refs=(deposit.id,))
        self.build()
        for node in NODES[1:]:
            self.deliver(STEWARD_NODE, node)

    def perform(self, act: Act) -> None:
        """Do what `act` says, if the person's node holds what it would be about."""
        w, who, pick, amount = self.world, act.person, act.pick, act.amount
        home = w.home[who]
        payee = w.pub([p for p in FOUNDERS if p != who][pick % (len(FOUNDERS) - 1)])
        match act.what:
            case "deposit":
                self.act(who, bodies.Deposit(w.pub(who), amount), made_for="deposit")
            case "transfer":
                self.act(who, bodies.Transfer(payee, amount))
            case "overdraw":
                self.act(who, bodies.Transfer(payee, OVERDRAW), made_for="overdraw")
            case "withdraw":
                self.act(who, bodies.Withdraw(amount, f"DE{pick:020d}"), made_for="withdraw")
            case "confirm_deposit":
                if deposit := self.held(STEWARD_NODE, self.unconfirmed("deposit"), pick):
                    self.confirmed.add(deposit.id)
                    self.act(who, bodies.ConfirmDeposit(deposit.id, deposit.body.amount), refs=(deposit.id,))
            case "confirm_payment":
                if withdrawal := self.held(STEWARD_NODE, self.unconfirmed("withdraw"), pick):
                    self.confirmed.add(withdrawal.id)
                    self.act(who, bodies.ConfirmPayment(withdrawal.id), refs=(withdrawal.id,))
            case "propose":
                motions = (
                    bodies.ChangeCharterMotion("probation_days", "0"),  # needs two thirds
                    bodies.RegisterEnterpriseMotion(f"workshop {pick}", (w.pub(who),), 1),  # a majority
                    bodies.ExpelEnterpriseMotion(w.enterprise_ids["bakery"]),  # a majority
                )
                deadline = w.clock.now_ms() + amount * 1_000  # 1 s: past when signed, refused
                self.act(who, bodies.Propose(motions[pick % 3], deadline), made_for="propose")
            case "vote":
                if proposal := self.held(home, self.made["propose"], pick):
                    choice = ("yes", "yes", "no", "abstain")[amount % 4]
                    self.act(who, bodies.Vote(proposal.id, choice), refs=(proposal.id,))
            case "delegate":
                self.act(who, bodies.Delegate(("charter", "all")[amount % 2], b"" if pick >= 6 else payee))
            case "attest":
                body = bodies.Attest(w.enterprise_ids["bakery"], w.pub(NEWCOMER))
                self.act(who, body, made_for="attest")
            case "accept":
                if attestation := self.held(home, self.made["attest"], pick):
                    self.act(who, bodies.Accept(attestation.id), refs=(attestation.id,))
            case "leave":
                self.act(who, bodies.Leave())
            case "note":
                self.act(who, bodies.Note(f"note {pick}"))
            case _:
                raise AssertionError(act)

    def unconfirmed(self, made_for: str) -> list[Entry]:
        return [e for e in self.made[made_for] if e.id not in self.confirmed]

    def held(self, node: str, entries: list[Entry], pick: int) -> Entry | None:
        """The `pick`th (cyclically) of `entries` that `node` holds, or None if it holds none."""
        store = self.node(node).entries
        found = [e for e in entries if store.has(e.id)]
        return found[pick % len(found)] if found else None

    # -- the network ----------------------------------------------------------------------------

    def partition(self, sides: tuple[int, ...]) -> None:
        self.side = dict(zip(NODES, sides, strict=True))

    def deliver(self, src: str, dst: str, *, blocks_first: bool = False, rng: random.Random | None = None) -> None:
        """`dst` hears from `src` of the entries and blocks it lacks, unless a partition is between them.

        Over a good link (`rng` None) every entry arrives, and the blocks in order. Over a bad
        one, feeds come in a random order and each may be lost, sent again from before what `dst`
        holds, split and sent back to front, or sent without its first entry; blocks come
        shuffled, some twice, some not at all.
        """
        if self.side[src] != self.side[dst]:
            return
        steps = [self._send_entries, self._send_blocks]
        for step in reversed(steps) if blocks_first else steps:
            step(self.node(src), self.node(dst), rng)

    def _send_entries(self, src: SimNode, dst: SimNode, rng: random.Random | None) -> None:
        if rng is None:  # the harness's own sync: every feed, each after the entries it refers to
            self.world.sync(src.name, dst.name, blocks=False)
            return
        have = dst.entries.frontier()
        feeds = list(src.entries.frontier().items())
        rng.shuffle(feeds)
        for author, last in feeds:
            after = have.get(author, 0)
            if after >= last:
                continue
            raws = src.entries.raws_after(author, after, limit=10_000)
            batches = [raws]
            fault = rng.choice(("none", "none", "lost", "again", "split", "gap"))
            if fault == "lost":
                batches = []
            elif fault == "again":
                again = src.entries.raws_after(author, max(0, after - 2), limit=10_000)
                batches = [again, again]
            elif fault == "split" and len(raws) > 1:
                cut = rng.randrange(1, len(raws))
                batches = [raws[cut:], raws[:cut]]
            elif fault == "gap":
                batches = [raws[1:]]
            for batch in batches:
                try:
                    dst.entries.ingest(batch)
                except Refused as exc:
                    assert exc.code in ENTRY_LOSS, f"{dst.name} refused entries from {src.name}: {exc.message}"

    def _send_blocks(self, src: SimNode, dst: SimNode, rng: random.Random | None) -> None:
        if rng is None:
            for raw in src.state.blocks_after(dst.state.height, limit=10_000):
                if not self.receive_block(dst, raw):
                    break
            return
        raws = src.state.blocks_after(max(0, dst.state.height - 2), limit=10_000)
        raws = [raw for raw in raws + rng.sample(raws, len(raws) // 2) if rng.random() > 0.2]
        rng.shuffle(raws)
        for raw in raws:
            self.receive_block(dst, raw)

    def receive_block(self, dst: SimNode, raw: bytes) -> bool:
        """`dst` applies the block if it is the next one and `dst` holds its entries; True if it did.

        A block it already holds, or one that does not follow its chain yet, is refused for its
        height and nothing else: there is one steward, so one chain.
        """
        height = dst.state.height
        try:
            dst.state.apply_block(raw, dst.entries, self.world.clock.now_ms())
        except BlockPending:
            return False
        except BlockRefused as exc:
            header = decode_block(raw)[1]
            assert exc.block_reason is BlockReason.WRONG_HEIGHT and header.height != height + 1, (
                f"{dst.name} at height {height} refused block {header.height}: {exc.message}"
            )
            if header.height <= height:
                assert dst.state.block(header.height) == raw, f"{dst.name} holds another block {header.height}"
            return False
        self.check(dst)
        return True

    def check(self, node: SimNode) -> None:
        """The invariants hold on `node` after the block it has just applied."""
        found = violations(node.state.state)
        assert not found, f"{node.name} after block {node.state.height}: {found}"
        self.checked[node.name].append(node.state.height)

    def heal(self) -> None:
        """Join the partition and sync over good links until nothing moves: each round every node
        sends to the steward's node, which builds a block if it holds entries its chain lacks and
        sends to every node."""
        self.partition((0,) * len(NODES))
        for _ in range(HEAL_ROUNDS):
            for node in NODES[1:]:
                self.deliver(node, STEWARD_NODE)
            if self.steward.state.state.tables["included"] != self.steward.entries.frontier():
                self.build()
            for node in NODES[1:]:
                self.deliver(STEWARD_NODE, node)
            if self.quiet():
                return
        raise AssertionError(f"no quiet after {HEAL_ROUNDS} rounds: heights {self.heights()}")

    def quiet(self) -> bool:
        """Every node holds what the steward's node holds, whose chain has taken in every entry."""
        frontier, height = self.steward.entries.frontier(), self.steward.state.height
        if self.steward.state.state.tables["included"] != frontier:
            return False
        return all(n.entries.frontier() == frontier and n.state.height == height for n in self.world.nodes.values())

    def heights(self) -> dict[str, int]:
        return {name: node.state.height for name, node in self.world.nodes.items()}

    # -- reading the chain ----------------------------------------------------------------------

    def chain(self) -> list[tuple[bytes, Header, list[Entry]]]:
        """The steward node's blocks: each one's id, header and the entries it takes in."""
        entries = self.steward.entries
        found = []
        for raw in self.steward.state.blocks_after(0, limit=100_000):
            block, header = decode_block(raw)
            taken = [entries.get(ref.author, ref.seq) for ref in header.entries]
            assert None not in taken
            found.append((block.id, header, taken))
        return found

    def refusals(self, chain: list[tuple[bytes, Header, list[Entry]]] | None = None) -> dict[tuple[bytes, int], str]:
        """(author, seq) -> why the chain refused that entry."""
        return {
            (effect.author, effect.seq): effect.reason
            for _, header, _ in chain or self.chain()
            for effect in header.effects
            if isinstance(effect, Refuse)
        }

    def outcomes(self) -> list[str]:
        """What the schedule came to, in words (for Hypothesis's statistics)."""
        state = self.steward.state.state
        chain = self.chain()
        refused = self.refusals(chain)
        transfers = [e for _, _, taken in chain for e in taken if isinstance(e.body, bodies.Transfer)]
        found = {f"refused: {reason}" for reason in refused.values()}
        found |= {f"proposal {p.status}" for p in state.tables["proposals"].values()}
        if any((e.author, e.seq) not in refused for e in transfers):
            found.add("a transfer went through")
        if state.is_member(self.world.pub(NEWCOMER)):
            found.add("the newcomer joined")
        found.add(f"blocks: {'10+' if state.height >= 10 else state.height}")
        return sorted(found)

    def claim(self, person: str, node: str = STEWARD_NODE) -> int:
        return self.node(node).state.state.claim(accounts.participant_account(self.world.pub(person)))

    # -- the verdict ----------------------------------------------------------------------------

    def assert_converged(self) -> None:
        """Every node holds the same entries, chain and state, and the money is as reckoned."""
        steward = self.steward
        frontier, height, digest = steward.entries.frontier(), steward.state.height, steward.state.digest()
        assert steward.state.state.tables["included"] == frontier, "entries held that the chain never took in"
        for name, node in self.world.nodes.items():
            assert node.state.height == height, f"{name} at {node.state.height}, the steward's node at {height}"
            assert node.entries.frontier() == frontier, f"{name} holds other entries than the steward's node"
            assert node.state.digest() == digest, f"{name}'s state differs from the steward node's"
            assert self.checked[name] == list(range(1, height + 1)), f"{name}: invariants not checked per block"

        reckoning = Reckoning(self.world.commune)
        chain = self.chain()
        refused = self.refusals(chain)
        for block_id, header, taken in chain:
            for entry in taken:
                verdict = reckoning.take_in(entry, header.height)
                if verdict is not None:
                    position = (entry.author, entry.seq)
                    assert verdict == (position not in refused), (
                        f"{entry.kind} #{entry.seq} at block {header.height}: the chain says "
                        f"{refused.get(position, 'done')}, the reckoning {'done' if verdict else 'refused'}"
                    )
            reckoning.height_of[block_id] = header.height
        for entry in self.made["overdraw"]:
            assert refused.get((entry.author, entry.seq)) == "overdraft", f"an overdraft went through: {entry}"
        for node in self.world.nodes.values():
            state = node.state.state
            for person in FOUNDERS:
                assert self.claim(person, node.name) == reckoning.claim(self.world.pub(person)), person
            assert state.balance(accounts.BANK) == reckoning.bank
            assert state.claim(accounts.WITHDRAWALS) == sum(reckoning.owed.values())


class Reckoning:
    """People's money as the design says it moves, reckoned entry by entry along the chain.

    A deposit counts once the steward confirms it. A person may spend what the blocks up to the
    one their entry names credited them, less what their own earlier entries spent (DESIGN 3.1).
    A withdrawal leaves the account at once and is owed until the steward confirms the payment.
    """

    def __init__(self, genesis_id: bytes) -> None:
        self.height_of: dict[bytes, int] = {genesis_id: 0}
        self.credits: dict[bytes, list[tuple[int, int]]] = defaultdict(list)  # person -> (height, amount)
        self.spent: dict[bytes, int] = defaultdict(int)
        self.deposits: dict[bytes, bytes] = {}  # unconfirmed deposit id -> depositor
        self.owed: dict[bytes, int] = {}  # unpaid withdrawal id -> amount
        self.bank = 0

    def claim(self, person: bytes) -> int:
        return sum(amount for _, amount in self.credits[person]) - self.spent[person]

    def available(self, person: bytes, height: int) -> int:
        return sum(amount for h, amount in self.credits[person] if h <= height) - self.spent[person]

    def take_in(self, entry: Entry, height: int) -> bool | None:
        """Take `entry` in with the block at `height`: whether the rules must let it do what it
        asks (True) or refuse it (False); None if it is not about money."""
        body = entry.body
        match body:
            case bodies.Deposit():
                self.deposits[entry.id] = entry.author
            case bodies.ConfirmDeposit():
                depositor = self.deposits.pop(body.deposit, None)
                if depositor is None:
                    return False
                self.credits[depositor].append((height, body.amount))
                self.bank += body.amount
            case bodies.Transfer() | bodies.Withdraw():
                if self.available(entry.author, self.height_of[entry.chain_ref]) < body.amount:
                    return False
                self.spent[entry.author] += body.amount
                if isinstance(body, bodies.Transfer):
                    self.credits[body.to].append((height, body.amount))
                else:
                    self.owed[entry.id] = body.amount
            case bodies.ConfirmPayment():
                if body.withdrawal not in self.owed:
                    return False
                self.bank -= self.owed.pop(body.withdrawal)
            case _:
                return None
        return True


# -- the tests ------------------------------------------------------------------------------

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


def converge(homes: dict[str, str], rounds: list[list[Operation]]) -> None:
    """Open the founders' accounts, then run each schedule in turn on the same commune, healing
    and checking convergence after each; tell Hypothesis's statistics what came of it all."""
    with Network(homes) as net:
        net.open_accounts(OPENING)
        for schedule in rounds:
            net.run(schedule)
            net.heal()
            net.assert_converged()
        for outcome in net.outcomes():
            event(outcome)


#: One to three schedules run one after the other on one commune (a commune costs more to set up
#: than a short schedule costs to run, and a later schedule starts from a longer history).
SHORT = st.lists(st.lists(operations(), min_size=5, max_size=30), min_size=1, max_size=3)
LONG = st.lists(st.lists(operations(), min_size=60, max_size=200), min_size=1, max_size=2)


@settings(max_examples=800, deadline=None, suppress_health_check=HEALTH)
@given(homes=homes(), rounds=SHORT)
def test_nodes_converge_after_short_schedules(homes: dict[str, str], rounds: list[list[Operation]]) -> None:
    converge(homes, rounds)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(homes=homes(), rounds=LONG)
def test_nodes_converge_after_long_schedules(homes: dict[str, str], rounds: list[list[Operation]]) -> None:
    converge(homes, rounds)


def test_a_partitioned_commune_converges() -> None:
    """A story told step by step: a minority partition acts on its own, the steward keeps
    building blocks, and once healed, entries reach the steward by way of another node; a
    transfer naming a block that credited nothing yet is refused, the same one later is not;
    the links to two nodes are bad; all five end in one state."""
    homes = {"bo": "n1", "cy": "n2", "di": "n3", "ed": "n4", NEWCOMER: "n1"}
    with Network(homes) as net:
        w = net.world
        net.partition((0, 0, 1, 1, 1))  # n0 n1 | n2 n3 n4

        # Cut off from the steward, cy deposits money and di puts a charter change to the vote.
        deposit = net.act("cy", bodies.Deposit(w.pub("cy"), 500))
        motion = bodies.ChangeCharterMotion("probation_days", "0")
        proposal = net.act("di", bodies.Propose(motion, w.clock.now_ms() + DAY_MS))
        net.deliver("n3", "n2")
        net.deliver("n3", "n4")
        net.act("cy", bodies.Vote(proposal.id, "yes"), refs=(proposal.id,))
        net.act("ed", bodies.Vote(proposal.id, "yes"), refs=(proposal.id,))
        net.act("di", bodies.Delegate("charter", w.pub("cy")))

        # On the steward's side, bo attests that fay works at the bakery and fay accepts;
        # the steward's node builds the block that admits her.
        attestation = net.act("bo", bodies.Attest(w.enterprise_ids["bakery"], w.pub(NEWCOMER)))
        net.act(NEWCOMER, bodies.Accept(attestation.id), refs=(attestation.id,))
        net.deliver("n1", "n0")
        assert net.build().height == 1
        assert net.steward.state.state.is_member(w.pub(NEWCOMER))

        # Healed: the minority's entries reach the steward through n1, and the steward
        # confirms cy's deposit in the next block with the votes.
        net.partition((0, 0, 0, 0, 0))
        for node in ("n2", "n3", "n4"):
            net.deliver(node, "n1")
        net.deliver("n1", "n0")
        net.act("ana", bodies.ConfirmDeposit(deposit.id, 500), refs=(deposit.id,))
        assert net.build().height == 2

        # cy pays bo before her node has heard of the blocks: her entry names the genesis, which
        # credited her nothing, so it is refused. Once her node has them, the same payment is not.
        early = net.act("cy", bodies.Transfer(w.pub("bo"), 200))
        net.deliver("n0", "n2")
        paid = net.act("cy", bodies.Transfer(w.pub("bo"), 200))
        too_much = net.act("cy", bodies.Transfer(w.pub("di"), OVERDRAW), made_for="overdraw")
        # bo's yes is the fourth of the five it needs, with di's vote delegated to cy.
        net.deliver("n0", "n1")
        net.act("bo", bodies.Vote(proposal.id, "yes"), refs=(proposal.id,))
        for node in ("n1", "n2"):
            net.deliver(node, "n0")
        assert net.build().height == 3

        # n3 hears over a bad link (blocks shuffled, some twice); n4 gets blocks before entries.
        net.deliver("n0", "n3", rng=random.Random(7))
        net.deliver("n0", "n4", blocks_first=True)
        assert net.node("n4").state.height < 3

        net.heal()
        net.assert_converged()
        refused = net.refusals()
        assert refused[early.author, early.seq] == "overdraft"
        assert (paid.author, paid.seq) not in refused
        assert refused[too_much.author, too_much.seq] == "overdraft"
        assert (net.claim("cy"), net.claim("bo")) == (300, 200)
        passed = net.steward.state.state.tables["proposals"][proposal.id]
        assert (passed.status, passed.direct_yes, passed.yes) == ("passed", 3, 4)
        assert net.steward.state.state.charter.probation_days == 0
