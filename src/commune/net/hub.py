"""A node's place in the network: its listener, its sessions, the peers it knows and dials.

The hub takes in what sessions receive (entries, proofs, blocks: each through the same checks
as anything else), pushes what is new to every other connected peer, keeps links to a few
known peers open, backs off peers that misbehave, and checks in idle time the signatures that
a bulk sync took on trust of the hash chain. Access control is here: only participants of the
commune in this node's state, or holders of a valid invitation, may sync.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from commune.chain.block import BlockFormatError, decode_block
from commune.chain.refusal import BlockPending, BlockReason, BlockRefused
from commune.chain.stewardfork import StewardForkProof
from commune.core.clock import Clock
from commune.core.errors import CommuneError
from commune.log.badlink import decode_bad_link_proof
from commune.log.entry import Entry
from commune.log.fork import decode_fork_proof
from commune.log.refusal import Refused
from commune.log.store import EntryStore
from commune.log.verify import VerifyMode
from commune.net.framing import Link
from commune.net.messages import (
    PROTOCOL_VERSION,
    BadMessage,
    Blocks,
    Entries,
    Frontier,
    Hello,
    Proofs,
    Refuse,
    Welcome,
    decode_message,
    encode_message,
)
from commune.net.sync import Misbehaved, Session, by_size
from commune.net.transport import Transport
from commune.state.store import StateStore

log = logging.getLogger("commune.net")
_pack = msgspec.msgpack.Encoder().encode

#: Block refusals that mean the sender relayed a block no honest node would accept.
_HOSTILE_BLOCK = frozenset(
    {
        BlockReason.MALFORMED_BLOCK,
        BlockReason.WRONG_COMMUNE,
        BlockReason.NOT_STEWARD,
        BlockReason.BAD_BLOCK_SIGNATURE,
        BlockReason.TOO_FEW_SIGNATURES,
        BlockReason.BAD_PROOF,
        BlockReason.WRONG_EFFECTS,
        BlockReason.ENTRY_OUT_OF_ORDER,
        BlockReason.ENTRY_AFTER_BLOCK,
        BlockReason.BLOCK_TIME_BACKWARDS,
    }
)
#: Blocks held back for entries or signatures not yet in, at most.
MAX_PARKED = 10_000


@dataclass
class Limits:
    """The hub's limits (docs/protocol.md, "Limits")."""

    max_sessions: int = 64
    frames_per_s: float = 2_000.0
    frames_burst: float = 10_000.0
    frontiers_per_s: float = 2.0
    frontiers_burst: float = 20.0
    #: How often a live session resends its frontier, and the hub dials missing peers.
    anti_entropy_s: float = 10.0
    #: How many known peers the hub keeps a link open to.
    keep_linked: int = 4
    first_backoff_s: float = 5.0
    max_backoff_s: float = 600.0


@dataclass
class PeerInfo:
    key: bytes
    addresses: set[str] = field(default_factory=set)
    backoff_until: float = 0.0
    backoff_s: float = 0.0
    last_reason: str = ""


class Hub:
    """The network side of one node of one commune."""

    def __init__(
        self,
        transport: Transport,
        entries: EntryStore,
        state: StateStore,
        clock: Clock,
        *,
        invitations: object | None = None,
        limits: Limits | None = None,
        on_change: Callable[[], None] | None = None,
        invitation: Callable[[], bytes] | None = None,
        on_stored: Callable[[Sequence[Entry]], None] | None = None,
        trusted: Callable[[], set[bytes]] | None = None,
    ) -> None:
        self.transport = transport
        self.entries = entries
        self.state = state
        self.clock = clock
        self.commune = state.commune
        self.genesis_bytes = state.genesis.to_bytes()
        self.invitations = invitations
        self.limits = limits or Limits()
        self.on_change = on_change or (lambda: None)
        #: The secret this node shows when it dials, while it is not yet a participant.
        self.invitation = invitation or (lambda: b"")
        #: Keys this node may dial though its state does not show them as participants yet
        #: (the inviter of a node that is joining).
        self.trusted = trusted or (lambda: set())
        #: Told of every entry stored from a peer (the node learns peers' addresses from profiles).
        self.on_stored = on_stored or (lambda entries: None)
        self.sessions: set[Session] = set()
        self.peers: dict[bytes, PeerInfo] = {}
        self.parked: dict[int, bytes] = {}
        self.steward_forks: dict[tuple[bytes, int], StewardForkProof] = {}
        self.listeners: list = []
        self._tasks: set[asyncio.Task] = set()
        self._backlog_wake = asyncio.Event()

    # -- peers -------------------------------------------------------------------------------

    def add_peer(self, key: bytes, address: str) -> None:
        self.peers.setdefault(key, PeerInfo(key)).addresses.add(address)

    def linked(self) -> set[bytes]:
        return {s.peer for s in self.sessions}

    def _backed_off(self, key: bytes) -> bool:
        info = self.peers.get(key)
        return info is not None and info.backoff_until > asyncio.get_running_loop().time()

    def misbehaved(self, key: bytes, reason: str, text: str) -> None:
        info = self.peers.setdefault(key, PeerInfo(key))
        info.backoff_s = min(self.limits.max_backoff_s, max(self.limits.first_backoff_s, info.backoff_s * 2))
        info.backoff_until = asyncio.get_running_loop().time() + info.backoff_s
        info.last_reason = reason
        log.warning("dropped peer %s (%s): %s; backing off %.0f s", key.hex()[:16], reason, text, info.backoff_s)

    def _forgive(self, key: bytes) -> None:
        """A session that went through a whole exchange (a Synced came) and ended without a
        protocol error: the next error starts the backoff anew."""
        info = self.peers.get(key)
        if info is not None:
            info.backoff_s = 0.0

    # -- access --------------------------------------------------------------------------------

    def refusal_for(self, key: bytes, hello: Hello) -> tuple[str, str] | None:
        """Why `key` may not sync (reason, sentence), or None if it may."""
        if hello.version != PROTOCOL_VERSION:
            return "unsupported_version", f"this node speaks version {PROTOCOL_VERSION}, not {hello.version}"
        if hello.commune != self.commune:
            return "wrong_commune", "this node keeps another commune"
        if self._backed_off(key):
            return "backed_off", "this node is not taking links from you for a while after a protocol error"
        if len(self.sessions) >= self.limits.max_sessions:
            return "busy", "this node has as many peers as it takes; try another or later"
        if self.state.state.is_participant(key):
            return None
        if hello.invitation and self.invitations is not None:
            try:
                self.invitations.check(hello.invitation, key, commune=self.commune)  # type: ignore[attr-defined]
            except CommuneError as exc:
                return exc.reason, exc.message
            return None
        return "not_a_participant", "only participants of this commune, or holders of an invitation, may sync it"

    # -- listening and dialing -------------------------------------------------------------------

    async def listen(self, address: str) -> str:
        listener = await self.transport.listen(address, self._accept)
        self.listeners.append(listener)
        return listener.address

    async def _accept(self, link: Link) -> None:
        session = Session(self, link, initiator=False)
        await self._run(session, lambda: session.accept())

    async def _run(self, session: Session, handshake: Callable) -> None:
        try:
            if not await handshake():
                return
            self.sessions.add(session)
            await session.run()
        except Misbehaved as exc:
            self.misbehaved(session.peer, exc.reason, exc.message)
            await _quietly(session.send, _refuse(exc))
        except (CommuneError, OSError) as exc:
            log.info("session with %s ended: %s", session.peer.hex()[:16], getattr(exc, "message", exc))
            if session.received_synced.is_set():
                self._forgive(session.peer)
        else:
            if session.received_synced.is_set():
                self._forgive(session.peer)
        finally:
            self.sessions.discard(session)
            session.link.abort()

    def may_dial(self, key: bytes) -> bool:
        """Only participants of the commune (in this node's state) get its data, whichever side
        dials: a key met on the LAN or named in a profile is not enough."""
        return self.state.state.is_participant(key) or key in self.trusted()

    async def connect(self, key: bytes, address: str, *, one_shot: bool = False) -> Session:
        """Open a session with the node `key` at `address` (handshake done, not yet running)."""
        if not self.may_dial(key):
            raise CommuneError(
                f"{key.hex()[:16]}… is not a participant of this commune as this node knows it; sync with a "
                "member first, or check the key",
                reason="not_a_participant",
            )
        link = await self.transport.connect(address, key)
        session = Session(self, link, initiator=True, one_shot=one_shot)
        try:
            await session.open(self.invitation())
        except BaseException:
            link.abort()
            raise
        return session

    async def sync_once(self, key: bytes, address: str, *, progress: Callable | None = None) -> Session:
        """One whole sync with one peer: each side gets what it lacked; then the link closes.
        `progress(entries received, entries expected)` is called as entries arrive."""
        session = await self.connect(key, address, one_shot=True)
        session.progress = progress
        self.sessions.add(session)
        runner = asyncio.create_task(self._run(session, _already_open))
        try:
            bye = asyncio.create_task(session.bye())
            done, _ = await asyncio.wait({runner, bye}, return_when=asyncio.FIRST_COMPLETED)
            if bye not in done:
                bye.cancel()
                raise CommuneError(f"the link to {address} closed before the sync finished", reason="sync_incomplete")
            await runner
        finally:
            runner.cancel()
        return session

    def start(self) -> None:
        """Background work: keep links to known peers, check the backlog of signatures."""
        self._spawn(self._keep_linked())
        self._spawn(self._verify_backlog())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep_linked(self) -> None:
        while True:
            linked = self.linked()
            loop = asyncio.get_running_loop()
            candidates = [
                p
                for p in self.peers.values()
                if p.key not in linked and p.addresses and p.backoff_until <= loop.time() and self.may_dial(p.key)
            ]
            random.shuffle(candidates)
            for peer in candidates[: max(0, self.limits.keep_linked - len(linked))]:
                self._spawn(self._dial(peer))
            await asyncio.sleep(self.limits.anti_entropy_s)

    async def _dial(self, peer: PeerInfo) -> None:
        for address in list(peer.addresses):
            try:
                session = await self.connect(peer.key, address)
            except (CommuneError, OSError) as exc:
                log.info("could not sync with %s at %s: %s", peer.key.hex()[:16], address, getattr(exc, "message", exc))
                if getattr(exc, "reason", "") == "wrong_peer_key":
                    peer.addresses.discard(address)  # another node answers there now: forget it
                continue
            await self._run(session, _already_open)
            return

    async def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        for task in list(self._tasks):
            task.cancel()
        for session in list(self.sessions):
            session.link.abort()

    # -- what this node holds ----------------------------------------------------------------------

    def frontier(self) -> Frontier:
        forks, bad_links = self.proofs()
        return Frontier(
            list(self.entries.frontier().items()),
            self.state.height,
            self.state.state.block_id if self.state.height else b"",
            len(forks) + len(bad_links),
        )

    def proofs(self) -> tuple[list[bytes], list[bytes]]:
        return (
            [p.to_bytes() for p in self.entries.fork_proofs()],
            [p.to_bytes() for p in self.entries.bad_link_proofs()],
        )

    # -- taking in ------------------------------------------------------------------------------------

    def take_entries(self, raws: Sequence[bytes], mode: VerifyMode, source: Session | None) -> int:
        """Ingest a batch (atomically: Refused stores nothing); push what was new; go on with the chain."""
        report = self.entries.ingest(raws, mode=mode)
        if report.stored:
            if mode is VerifyMode.EVERY:  # bulk-synced entries go on once their signatures are checked
                self.push_entries(report.stored, exclude=source)
            self.on_stored(report.stored)
        if report.forks or report.bad_links:
            self.push(
                Proofs([p.to_bytes() for p in report.forks], [p.to_bytes() for p in report.bad_links]), exclude=source
            )
        if mode is VerifyMode.NEWEST and report.stored:
            self._backlog_wake.set()
        if report.stored or report.forks:
            self.retry_parked()
            self.on_change()
        return len(report.stored)

    def push_entries(self, stored: Sequence[Entry], exclude: Session | None = None) -> None:
        for batch in by_size([e.raw for e in stored], 4096):
            self.push(Entries([_pack(batch)]), exclude=exclude)

    def push(self, message: Entries | Blocks | Proofs, exclude: Session | None = None) -> None:
        for session in list(self.sessions):
            if session is not exclude and not session.one_shot:
                session.post(message)

    def take_proofs(self, message: Proofs, source: Session | None) -> tuple[str, str] | None:
        new_forks, new_bad = [], []
        try:
            for data in message.forks:
                if self.entries.add_proof(decode_fork_proof(data)):
                    new_forks.append(data)
            for data in message.bad_links:
                if self.entries.add_proof(decode_bad_link_proof(data)):
                    new_bad.append(data)
        except (Refused, CommuneError) as exc:
            return "bad_proof", exc.message
        if new_forks or new_bad:
            self.push(Proofs(new_forks, new_bad), exclude=source)
            self.on_change()
        return None

    def take_blocks(self, raws: Sequence[bytes], source: Session | None) -> tuple[str, str] | None:
        """Apply blocks in order; park those that wait; (reason, text) if the sender is hostile."""
        for raw in raws:
            try:
                _, header = decode_block(raw)
            except BlockFormatError as exc:
                return "refused_block", exc.message
            height = self.state.height
            if header.height <= height:
                self._compare_with_held(raw, header.height)
                continue
            if header.height > height + 1:
                self._park(header.height, raw)
                continue
            strike = self._apply(raw, source)
            if strike is not None:
                return strike
            self.retry_parked()
        return None

    def _apply(self, raw: bytes, source: Session | None) -> tuple[str, str] | None:
        try:
            header = self.state.apply_block(raw, self.entries, self.clock.now_ms())
        except BlockPending:
            self._park(self.state.height + 1, raw)
            return None
        except BlockRefused as exc:
            reason = exc.block_reason
            if reason is BlockReason.ENTRY_UNVERIFIED:
                self._park(self.state.height + 1, raw)
                self._backlog_wake.set()
                return None
            if reason is BlockReason.BLOCK_FUTURE_TIME:
                self._park(self.state.height + 1, raw)
                return None
            if reason in _HOSTILE_BLOCK:
                return "refused_block", exc.message
            log.warning("a block at height %d was refused (%s): %s", self.state.height + 1, exc.reason, exc.message)
            return None
        self.parked.pop(header.height, None)
        self.push(Blocks([raw]), exclude=source)
        self.on_change()
        return None

    def _park(self, height: int, raw: bytes) -> None:
        if len(self.parked) < MAX_PARKED or height in self.parked:
            self.parked[height] = raw

    def retry_parked(self) -> None:
        while (raw := self.parked.get(self.state.height + 1)) is not None:
            height = self.state.height
            self._apply(raw, None)
            if self.state.height == height:
                return
        for h in [h for h in self.parked if h <= self.state.height]:
            del self.parked[h]

    def _compare_with_held(self, raw: bytes, height: int) -> None:
        held = self.state.block(height)
        if held is None or held == raw:
            return
        try:
            mine, _ = decode_block(held)
            theirs, _ = decode_block(raw)
        except BlockFormatError:
            return
        for steward in set(mine.signed_by()) & set(theirs.signed_by()):
            if (steward, height) not in self.steward_forks:
                self.steward_forks[(steward, height)] = StewardForkProof.of(steward, mine, theirs)
                log.error("steward %s signed two blocks at height %d: the chain forked", steward.hex()[:16], height)

    def publish(self, stored: Sequence[Entry]) -> None:
        """This node's own new entries: to every peer at once."""
        self.push_entries(stored)

    def publish_block(self, raw: bytes) -> None:
        self.push(Blocks([raw]))

    def synced(self, session: Session) -> None:
        self.retry_parked()

    # -- the backlog of bulk-synced signatures -------------------------------------------------------

    async def settle(self, step: int = 5_000) -> None:
        """Check every signature a bulk sync left unchecked, `step` at a time (letting the loop
        run between), pass on the bad-link proofs found, and apply the blocks that waited."""
        while self.entries.unverified():
            found = self.entries.verify_backlog(limit=step)
            if found:
                self.push(Proofs([], [p.to_bytes() for p in found]))
            self.retry_parked()
            await asyncio.sleep(0)
        self.retry_parked()

    async def _verify_backlog(self) -> None:
        while True:
            await self._backlog_wake.wait()
            self._backlog_wake.clear()
            await self.settle(step=2_000)  # smaller steps: the node serves its peers meanwhile
            self.on_change()


async def fetch_genesis(transport: Transport, invitation) -> tuple[bytes, str]:
    """The genesis of the commune `invitation` is for, from the inviter (pinned by its key), and
    the address that answered."""
    errors = []
    for address in invitation.addresses:
        try:
            link = await transport.connect(address, invitation.inviter)
        except CommuneError as exc:
            errors.append(exc.message)
            continue
        try:
            await link.send(encode_message(Hello(PROTOCOL_VERSION, invitation.commune, invitation.secret, True)))
            reply = decode_message(await asyncio.wait_for(link.recv(), 10.0))
            if isinstance(reply, Refuse):
                raise CommuneError(f"the inviter refused: {reply.message}", reason=reply.reason)
            if not isinstance(reply, Welcome) or not reply.genesis:
                raise CommuneError("the inviter did not send the commune's genesis", reason="protocol_violation")
            return reply.genesis, address
        except (TimeoutError, BadMessage) as exc:
            errors.append(str(exc) or "no answer in time")
        finally:
            link.abort()
    raise CommuneError(
        "could not reach the inviter at "
        + ", ".join(invitation.addresses)
        + ": "
        + "; ".join(errors)
        + ". Check that their node is running (`commune serve`) and reachable, or ask for a new invitation",
        reason="inviter_unreachable",
    )


async def _already_open() -> bool:
    return True


def _refuse(exc: Misbehaved) -> Refuse:
    return Refuse(exc.reason, exc.message[:1000])


async def _quietly(send: Callable, message) -> None:
    try:
        await asyncio.wait_for(send(message), 1.0)
    except (CommuneError, OSError, TimeoutError):
        pass
