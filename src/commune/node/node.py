"""One participant's node: its data directory, key, stores, and what it does while it runs.

The data directory holds (docs/guide.md, "Your data directory"):

    secret.key          the member key (mode 0600): back it up, never share it
    tls.pem             the TLS certificate and key derived from it (rewritten at each start)
    entries.sqlite      every feed's entries and the proofs
    state.sqlite        the chain and the state it produces
    invitations.sqlite  the invitations this node issued (only their secrets' hashes)
    invitation.txt      the invitation this node joined with, until it is a participant
    peers.json          the peers this node knows: key and addresses
    node.sock           while `commune serve` runs: how other commands reach it
    serving.json        while `commune serve` runs: its process id and addresses

A node that serves is the only writer of its stores; other `commune` commands send their
entries through node.sock (see control.py) and read the stores directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from commune.chain.block import Block
from commune.chain.genesis import Genesis, decode_genesis, make_genesis
from commune.chain.process import pending_entries, pending_proofs
from commune.core.clock import Clock, SystemClock
from commune.core.errors import CommuneError
from commune.core.keyfile import create_key_file, load_key_file
from commune.core.keys import SecretKey
from commune.log.bodies import Body, Profile
from commune.log.entry import ZERO_ID, Entry, decode_entry, sign_entry
from commune.log.feed import FeedWriter
from commune.log.store import EntryStore
from commune.net.hub import Hub, Limits, fetch_genesis
from commune.net.invitation import Invitation, InvitationBook
from commune.net.transport import TlsTransport, split_address
from commune.rules import engine
from commune.rules.charter import Charter
from commune.rules.effects import Refuse
from commune.rules.ledger import available
from commune.rules.model import CommuneState
from commune.rules.refusal import RuleReason, RuleRefused
from commune.state.store import StateStore

log = logging.getLogger("commune.node")

KEY_FILE = "secret.key"
ENTRIES_FILE = "entries.sqlite"
STATE_FILE = "state.sqlite"
INVITATIONS_FILE = "invitations.sqlite"
JOINED_WITH_FILE = "invitation.txt"
PEERS_FILE = "peers.json"
SOCKET_FILE = "node.sock"
SERVING_FILE = "serving.json"


class NodeError(CommuneError):
    reason = "node"


def parse_peer(text: str) -> tuple[bytes, str]:
    """ "KEY@host:port" (KEY: the peer's public key in hex) -> (key, address)."""
    key_hex, sep, address = text.strip().partition("@")
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        key = b""
    if not sep or len(key) != 32:
        raise NodeError(
            f"{text!r} is not a peer: write its public key (64 hex digits), '@', then host:port "
            "(the peer's `commune status` shows both)",
            reason="bad_peer",
        )
    split_address(address)
    return key, address


class Node:
    """A node whose data directory `root` holds a key and a commune."""

    def __init__(self, root: str | os.PathLike[str], clock: Clock | None = None) -> None:
        self.root = Path(root)
        self.clock = clock or SystemClock()
        if not (self.root / STATE_FILE).exists():
            raise NodeError(
                f"{self.root} holds no commune: found one (`commune found`) or join one (`commune join`)",
                reason="no_commune",
            )
        self.key = load_key_file(self.root / KEY_FILE)
        self.state = StateStore(self.root / STATE_FILE)
        self.commune = self.state.commune
        self.entries = EntryStore(self.root / ENTRIES_FILE, self.commune, clock=self.clock)
        self.writer = FeedWriter(self.entries, self.key)
        self.hub: Hub | None = None
        self._invitations: InvitationBook | None = None
        joined = self.root / JOINED_WITH_FILE
        self._joined = Invitation.from_text(joined.read_text()) if joined.exists() else None

    # -- founding and joining --------------------------------------------------------------

    @classmethod
    def found(
        cls,
        root: str | os.PathLike[str],
        *,
        name: str,
        currency: str,
        founder: str,
        enterprises: Sequence[str] = (),
        charter: Sequence[tuple[str, str]] = (),
        clock: Clock | None = None,
    ) -> Node:
        """Found a commune with this node's person as its first member and steward; each of
        `enterprises` is registered with them as its one signer (others are added by vote)."""
        root = Path(root)
        clock = clock or SystemClock()
        rules = Charter(name=name, currency=currency)
        for parameter, value in charter:
            rules = rules.with_change(parameter, value)
        key = _key_in(root)
        genesis = make_genesis(
            rules,
            clock.now_ms(),
            [(key.public, founder)],
            key.public,
            [(e, [key.public], 1) for e in enterprises],
        )
        return cls.from_genesis(root, genesis, founder, clock)

    @classmethod
    def from_genesis(
        cls, root: str | os.PathLike[str], genesis: Genesis, name: str, clock: Clock | None = None
    ) -> Node:
        """Start a founder's node on a genesis the founders agreed (its key, made with
        `ensure_key`, is among theirs): the state store, then the founder's profile."""
        root = Path(root)
        if (root / STATE_FILE).exists():
            raise NodeError(f"{root} holds a commune already; use another directory", reason="commune_exists")
        StateStore(root / STATE_FILE, genesis).close()
        node = cls(root, clock)
        node.append(Profile(name))
        return node

    @classmethod
    async def join(cls, root: str | os.PathLike[str], token: str, clock: Clock | None = None) -> Node:
        """Join with an invitation: fetch and check the genesis from the inviter, keep the
        invitation until this node's person is a participant, and sync once."""
        root = Path(root)
        invitation = Invitation.from_text(token)
        if (root / STATE_FILE).exists():
            raise NodeError(f"{root} holds a commune already; use another directory", reason="commune_exists")
        key = _key_in(root)
        transport = TlsTransport(key, root)
        genesis_bytes, address = await fetch_genesis(transport, invitation)
        genesis = decode_genesis(genesis_bytes)
        if genesis.commune_id != invitation.commune:
            raise NodeError(
                "the inviter sent the genesis of another commune; ask for a new invitation", reason="bad_genesis"
            )
        StateStore(root / STATE_FILE, genesis).close()
        (root / JOINED_WITH_FILE).write_text(invitation.to_text() + "\n")
        node = cls(root, clock)
        node.add_peer(invitation.inviter, address)
        await node.sync(invitation.inviter, address)
        return node

    # -- acting ----------------------------------------------------------------------------

    def append(self, body: Body, refs: tuple[bytes, ...] = ()) -> Entry:
        """Sign `body` into this node's feed, naming the chain block this node has seen."""
        entry = self.writer.append(body, refs=refs, chain_ref=self.state.state.block_id)
        if self.hub is not None:
            self.hub.publish([entry])
        return entry

    @contextlib.contextmanager
    def _ahead(self, now: int) -> Iterator[CommuneState]:
        """The state as the next block would find it, with this feed's entries the chain has not
        taken in yet applied (a spend counts against the balance as soon as it is signed);
        rolled back afterwards."""
        state = self.state.state
        head = self.entries.head(self.key.public)
        engine.begin_block(state, state.height + 1, now)
        try:
            for seq in range(state.tables["included"].get(self.key.public, 0) + 1, head.seq + 1 if head else 1):
                own = self.entries.get(self.key.public, seq)
                if own is not None:
                    engine.take_in(state, own)
            yield state
        finally:
            state.rollback()

    def dry_run(self, body: Body, refs: tuple[bytes, ...] = ()) -> None:
        """Would the rules take `body` in, on the chain as this node has it? RuleRefused if not.
        Nothing is signed into the feed: a mistake is caught before it becomes an entry."""
        head = self.entries.head(self.key.public)
        state = self.state.state
        now = max(self.clock.now_ms(), state.time_ms)
        entry = decode_entry(
            sign_entry(
                self.key,
                commune=self.commune,
                seq=head.seq + 1 if head else 1,
                prev=head.id if head else ZERO_ID,
                time_ms=now,
                chain_ref=state.block_id,
                body=body,
                refs=refs,
            )
        )
        with self._ahead(now) as ahead:
            effects = engine.take_in(ahead, entry)
        if effects and isinstance(effects[0], Refuse):
            detail = ""
            with self._ahead(now) as ahead:  # once more, for the detail the refusal effect does not keep
                try:
                    engine.RULES[type(body)](ahead, entry, engine.chain_height_of(ahead, entry))
                except RuleRefused as exc:
                    detail = exc.message.partition(": ")[2]
            raise RuleRefused(RuleReason(effects[0].reason), detail)

    def spendable(self) -> int:
        """What this node's person may spend now: what the chain credited them and their accrued
        dividends, less their spends, those signed but not yet on the chain included."""
        if not self.state.state.is_participant(self.key.public):
            return 0
        with self._ahead(max(self.clock.now_ms(), self.state.state.time_ms)) as ahead:
            return available(ahead, self.key.public, ahead.height - 1)

    def invite(self, addresses: Sequence[str], valid_ms: int) -> Invitation:
        return self.invitations.issue(self.commune, self.key.public, tuple(addresses), valid_ms)

    @property
    def invitations(self) -> InvitationBook:
        if self._invitations is None:
            self._invitations = InvitationBook(self.root / INVITATIONS_FILE, self.clock)
        return self._invitations

    def _pending_invitation(self) -> Invitation | None:
        """The invitation this node joined with, while its person is not yet a participant
        (then none is needed)."""
        if self._joined is None or self.state.state.is_participant(self.key.public):
            return None
        return self._joined

    def _inviter(self) -> set[bytes]:
        """Whom this node may dial though its state does not show them as a participant yet."""
        invitation = self._pending_invitation()
        return {invitation.inviter} if invitation else set()

    def joined_with(self) -> bytes:
        """The secret to show when dialling: the invitation's, while it is needed."""
        invitation = self._pending_invitation()
        return invitation.secret if invitation else b""

    # -- the steward's duties ----------------------------------------------------------------

    def is_steward(self) -> bool:
        return self.key.public in self.state.state.stewards

    def steward_tick(self) -> Block | None:
        """If this node's person is a steward and anything waits (entries, proofs, a deadline),
        build, keep and publish the next block."""
        if not self.is_steward():
            return None
        now = self.clock.now_ms()
        entries = pending_entries(self.state.state, self.entries, now)
        proofs = pending_proofs(self.state.state, self.entries)
        if not entries and not proofs and not engine.anything_due(self.state.state, now):
            return None
        block = self.state.propose_block(self.key, self.entries, now, entries)
        if self.hub is not None:
            self.hub.publish_block(block.to_bytes())
        return block

    # -- peers -------------------------------------------------------------------------------

    def known_peers(self) -> dict[bytes, set[str]]:
        path = self.root / PEERS_FILE
        if not path.exists():
            return {}
        try:
            rows = json.loads(path.read_text())
            return {bytes.fromhex(r["key"]): set(r["addresses"]) for r in rows}
        except (ValueError, KeyError, TypeError):
            raise NodeError(
                f"{path} is damaged: fix or delete it (peers are found again)", reason="bad_peers"
            ) from None

    def add_peer(self, key: bytes, address: str) -> None:
        if key == self.key.public:
            return
        peers = self.known_peers()
        if address in peers.get(key, set()):
            return
        peers.setdefault(key, set()).add(address)
        rows = [{"key": k.hex(), "addresses": sorted(a)} for k, a in sorted(peers.items())]
        tmp = self.root / (PEERS_FILE + ".tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        os.replace(tmp, self.root / PEERS_FILE)
        if self.hub is not None:
            self.hub.add_peer(key, address)

    # -- the network -------------------------------------------------------------------------

    def make_hub(self, limits: Limits | None = None) -> Hub:
        hub = Hub(
            TlsTransport(self.key, self.root),
            self.entries,
            self.state,
            self.clock,
            invitations=self.invitations,
            limits=limits,
            invitation=self.joined_with,
            on_stored=self._learn_addresses,
            trusted=self._inviter,
        )
        for key, addresses in self.known_peers().items():
            for address in addresses:
                hub.add_peer(key, address)
        self.hub = hub
        return hub

    def _learn_addresses(self, entries: Sequence[Entry]) -> None:
        """Peers' addresses travel in their signed profiles: remember them."""
        for entry in entries:
            if isinstance(entry.body, Profile) and entry.author != self.key.public:
                for address in entry.body.addresses:
                    try:
                        split_address(address)
                    except CommuneError:
                        continue
                    self.add_peer(entry.author, address)

    def advertise(self, addresses: Sequence[str]) -> Entry | None:
        """Sign a profile naming `addresses` (where peers can reach this node), unless the latest
        profile of this feed already names exactly these."""
        latest: Profile | None = None
        for entry in self.entries.feed(self.key.public):
            if isinstance(entry.body, Profile):
                latest = entry.body
        if latest is None:
            raise NodeError("your feed has no profile yet; join or found a commune first", reason="no_profile")
        if tuple(addresses) == latest.addresses:
            return None
        return self.append(Profile(latest.name, tuple(addresses)))

    async def sync(self, key: bytes, address: str, progress=None) -> dict[str, int]:
        """One whole sync with the peer `key` at `address`; returns what moved."""
        own = self.hub is None
        hub = self.make_hub() if own else self.hub
        assert hub is not None
        try:
            session = await hub.sync_once(key, address, progress=progress)
            await hub.settle()
            return dict(session.stats)
        finally:
            if own:
                await hub.close()
                self.hub = None

    def digest(self) -> bytes:
        return self.state.digest()

    def status(self) -> dict[str, object]:
        """What this node holds and, while it serves, whom it is linked to."""
        state = self.state.state
        hub = self.hub
        now = max(self.clock.now_ms(), state.time_ms)
        return {
            "key": self.key.public.hex(),
            "commune": self.commune.hex(),
            "name": self.state.genesis.charter.name,
            "height": self.state.height,
            "entries": self.entries.count(),
            "feeds": len(self.entries.frontier()),
            "unverified": self.entries.unverified(),
            "digest": self.digest().hex(),
            "waiting": len(pending_entries(state, self.entries, now)),
            "due": engine.anything_due(state, now),
            "participant": state.is_participant(self.key.public),
            "member": state.is_member(self.key.public),
            "steward": self.is_steward(),
            "serving": hub is not None,
            "addresses": [listener.address for listener in hub.listeners] if hub else [],
            "linked": sorted(k.hex() for k in hub.linked()) if hub else [],
            "parked_blocks": len(hub.parked) if hub else 0,
            "steward_forks": len(hub.steward_forks) if hub else 0,
        }

    def close(self) -> None:
        if self._invitations is not None:
            self._invitations.close()
        self.entries.close()
        self.state.close()


def ensure_key(root: str | os.PathLike[str]) -> bytes:
    """The public key of the key in `root`, made if there is none (before founding together)."""
    return _key_in(Path(root)).public


def _key_in(root: Path) -> SecretKey:
    """The key in `root`, made if there is none (a new member's first step)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / KEY_FILE
    if path.exists():
        return load_key_file(path)
    return create_key_file(path)
