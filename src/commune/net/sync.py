"""One sync session over one link: the protocol of docs/protocol.md, "Sync".

After Hello and Welcome, both sides send a Frontier; each answers the other's Frontier by
streaming what the other lacks (entries in the order it stored them, proofs, then blocks) and
a Synced. While the link stays up, whatever either side stores that is new is pushed to it at
once, and each side sends its Frontier again now and then (anti-entropy: whatever a push
missed is sent then). A one-shot sync (`commune sync`) ends with Bye both ways, so neither side
closes before the other has taken in all it was sent.

A peer that breaks the protocol (garbage, an entry or block refused for a reason only a forger
or a broken node gives, frames or requests beyond the limits) is disconnected and backed off
by the Hub; nothing it sends can stop the node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import msgspec

from commune.core.errors import CommuneError
from commune.log.entry import decode_entry
from commune.log.refusal import Reason, Refused
from commune.log.verify import VerifyMode
from commune.net.framing import MAX_FRAME_BYTES, FrameTooLarge
from commune.net.messages import (
    MAX_BLOCKS,
    MAX_CHUNKS,
    MAX_PROOFS,
    PROTOCOL_VERSION,
    BadMessage,
    Blocks,
    Bye,
    Entries,
    Frontier,
    Hello,
    Message,
    Proofs,
    Refuse,
    Synced,
    Welcome,
    decode_message,
    encode_message,
)

if TYPE_CHECKING:
    from commune.net.framing import Link
    from commune.net.hub import Hub

log = logging.getLogger("commune.net")

#: Entries of one Entries message, at most (bytes are bounded by the frame size).
MAX_BATCH_ENTRIES = 20_000
#: A catch-up larger than this many entries is taken in in bulk mode (newest signature per feed).
BULK_THRESHOLD = 2_000
#: A batch smaller than this is always checked signature by signature.
SMALL_BATCH = 256
#: Aim for Entries messages of about this size.
BATCH_BYTES = 1024 * 1024
#: ... or this size when the peer lacks more than BULK_THRESHOLD entries: the receiver checks one
#: signature per feed per message, and stores one row per feed per message (bench/sync.py).
BULK_BATCH_BYTES = 4 * 1024 * 1024
#: Entries held back (waiting for what they refer to) per session, at most.
MAX_CARRY = 50_000
#: A link that carried nothing either way for this many anti-entropy intervals is ended.
LIVENESS_INTERVALS = 3
#: Time allowed for the peer's Hello or Welcome.
HELLO_TIMEOUT_S = 10.0

_unpack = msgspec.msgpack.Decoder(list[bytes]).decode
_pack = msgspec.msgpack.Encoder().encode
#: Entries per chunk when a chunk is cut to fit a frame.
CHUNK_LIMIT = 256

#: Refusals an honest peer can cause (a push racing a catch-up, clocks apart, a newer version);
#: the entries wait or are dropped, the peer is not punished.
BENIGN = frozenset(
    {
        Reason.SEQ_GAP,
        Reason.MISSING_REF,
        Reason.FUTURE_TIME,
        Reason.FEED_FROZEN,
        Reason.UNKNOWN_KIND,
        Reason.UNSUPPORTED_VERSION,
    }
)


class Misbehaved(CommuneError):
    """The peer broke the protocol; `reason` names how."""

    reason = "misbehaved"


class TokenBucket:
    """At most `rate` events a second on average, `burst` at once (the loop's monotonic time)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = asyncio.get_running_loop().time()

    def take(self, n: float = 1.0) -> bool:
        now = asyncio.get_running_loop().time()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True


class Session:
    """The sync protocol with one peer. `initiator` is the side that connected."""

    def __init__(self, hub: Hub, link: Link, *, initiator: bool, one_shot: bool = False) -> None:
        self.hub = hub
        self.link = link
        self.peer = link.peer
        self.initiator = initiator
        self.one_shot = one_shot
        self._send_lock = asyncio.Lock()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=256)
        self._carry: list[bytes] = []
        self._bulk = False
        self._their_frontier: Frontier | None = None
        self._catch_up: asyncio.Task[None] | None = None
        self._again = False
        self.received_synced = asyncio.Event()
        self.sent_synced = asyncio.Event()
        self.said_bye = False
        self._awaiting = False
        self._last_heard = 0.0
        #: Called with (entries received, entries the peer's frontier showed were lacking).
        self.progress: Callable[[int, int], None] | None = None
        self.expected = 0
        self.stats = {"entries_in": 0, "entries_out": 0, "blocks_in": 0, "blocks_out": 0}
        self._frames = TokenBucket(hub.limits.frames_per_s, hub.limits.frames_burst)
        self._frontiers = TokenBucket(hub.limits.frontiers_per_s, hub.limits.frontiers_burst)

    # -- sending ---------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        frame = encode_message(message)
        async with self._send_lock:
            await self.link.send(frame)
        self._touch()

    def post(self, message: Message) -> bool:
        """Queue a push; False (dropped: anti-entropy will send it) if the peer is not keeping up."""
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    async def _writer(self) -> None:
        while True:
            message = await self._outbox.get()
            await self.send(message)

    # -- the handshake ---------------------------------------------------------------------

    async def open(self, invitation: bytes = b"") -> None:
        """The initiator's side of the handshake; raises CommuneError if refused."""
        await self.send(Hello(PROTOCOL_VERSION, self.hub.commune, invitation))
        reply = await self._recv(HELLO_TIMEOUT_S)
        if isinstance(reply, Refuse):
            raise CommuneError(
                f"{self.link.address} refused to sync: {reply.message or reply.reason}", reason=reply.reason
            )
        if not isinstance(reply, Welcome):
            raise Misbehaved("the peer did not answer Hello with Welcome", reason="protocol_violation")

    async def accept(self) -> bool:
        """The answering side of the handshake: Welcome if the peer may sync, else Refuse."""
        hello = await self._recv(HELLO_TIMEOUT_S)
        if not isinstance(hello, Hello):
            raise Misbehaved("the first message was not Hello", reason="protocol_violation")
        refusal = self.hub.refusal_for(self.peer, hello)
        if refusal is not None:
            reason, text = refusal
            log.info("refused %s (%s): %s", self.peer.hex()[:16], self.link.address, text)
            await self.send(Refuse(reason, text))
            return False
        genesis = self.hub.genesis_bytes if hello.want_genesis else b""
        await self.send(Welcome(PROTOCOL_VERSION, genesis))
        return True

    async def _recv(self, timeout: float | None = None) -> Message:
        try:
            frame = await (asyncio.wait_for(self.link.recv(), timeout) if timeout else self.link.recv())
        except TimeoutError:
            raise Misbehaved("the peer sent nothing in time", reason="timeout") from None
        except FrameTooLarge as exc:
            raise Misbehaved(exc.message, reason="frame_too_large") from None
        if not self._frames.take():
            raise Misbehaved("the peer sent frames faster than the limit", reason="too_many_requests")
        try:
            return decode_message(frame)
        except BadMessage as exc:
            raise Misbehaved(exc.message, reason="bad_message") from None

    # -- the session -------------------------------------------------------------------------

    async def run(self) -> None:
        """Exchange frontiers, then serve the peer until the link closes (or Bye, one-shot)."""
        self._touch()
        writer = asyncio.create_task(self._writer())
        ticker = asyncio.create_task(self._tick())
        reader = asyncio.create_task(self._read())
        try:
            await self.send(self.hub.frontier())
            self._awaiting = True
            done, _ = await asyncio.wait({writer, ticker, reader}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the reader ends the session; a writer or ticker only by an error
        finally:
            for task in (writer, ticker, reader, self._catch_up):
                if task is not None:
                    task.cancel()

    async def _read(self) -> None:
        while True:
            message = await self._recv()
            self._touch()
            if await self._handle(message):
                return

    def _touch(self) -> None:
        self._last_heard = asyncio.get_running_loop().time()

    async def _tick(self) -> None:
        """Anti-entropy: the frontier again every interval, once the last one was answered (a
        link cut by a partition must not queue frontiers that would arrive all at once). A link
        that carried nothing either way for LIVENESS_INTERVALS intervals is dead: end it."""
        interval = self.hub.limits.anti_entropy_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            if loop.time() - self._last_heard > LIVENESS_INTERVALS * interval + HELLO_TIMEOUT_S:
                raise CommuneError("nothing came over the link for too long: it is taken as cut", reason="link_dead")
            if not self.one_shot and not self._awaiting:
                # Queued, not awaited: a send stalled on a cut link must not stop this check.
                self._awaiting = self.post(self.hub.frontier())

    async def _handle(self, message: Message) -> bool:
        """Act on one message; True when the session is over."""
        if isinstance(message, Entries):
            await self._take_entries(message)
        elif isinstance(message, Blocks):
            self.stats["blocks_in"] += len(message.raws)
            strike = self.hub.take_blocks(message.raws, self)
            if strike is not None:
                raise Misbehaved(strike[1], reason=strike[0])
        elif isinstance(message, Proofs):
            strike = self.hub.take_proofs(message, self)
            if strike is not None:
                raise Misbehaved(strike[1], reason=strike[0])
        elif isinstance(message, Frontier):
            if not self._frontiers.take():
                raise Misbehaved("the peer asked for its frontier faster than the limit", reason="too_many_requests")
            self._their_frontier = message
            mine = self.hub.entries.frontier()
            lacking = sum(max(0, seq - mine.get(author, 0)) for author, seq in message.feeds)
            self._bulk = lacking > BULK_THRESHOLD
            self.expected = self.stats["entries_in"] + lacking
            if self._catch_up is None or self._catch_up.done():
                self._catch_up = asyncio.create_task(self._serve_catch_up())
            else:
                self._again = True
        elif isinstance(message, Synced):
            self._awaiting = False
            self._bulk = False
            self._retry_carry()
            self.hub.synced(self)
            self.received_synced.set()
        elif isinstance(message, Bye):
            if not self.said_bye:
                await self.send(Bye())
            return True
        elif isinstance(message, (Hello, Welcome)):
            raise Misbehaved("a second Hello or Welcome", reason="protocol_violation")
        elif isinstance(message, Refuse):
            log.info("%s stopped the session: %s %s", self.peer.hex()[:16], message.reason, message.message)
            return True
        return False

    async def bye(self) -> None:
        """Wait until each side has what the other had, then end the session both ways."""
        await self.received_synced.wait()
        await self.sent_synced.wait()
        self.said_bye = True
        await self.send(Bye())

    # -- entries in ------------------------------------------------------------------------

    async def _take_entries(self, message: Entries) -> None:
        raws: list[bytes] = []
        try:
            for chunk in message.chunks:
                raws.extend(_unpack(chunk))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Misbehaved(f"an Entries chunk is not a list of entries: {exc}", reason="bad_message") from None
        if len(raws) > MAX_BATCH_ENTRIES:
            raise Misbehaved(f"{len(raws)} entries in one message, over {MAX_BATCH_ENTRIES}", reason="batch_too_large")
        self.stats["entries_in"] += len(raws)
        mode = VerifyMode.NEWEST if self._bulk and len(raws) >= SMALL_BATCH else VerifyMode.EVERY
        batch = self._carry + raws if self._carry else raws
        self._carry = []
        self._ingest(batch, mode)
        if self.progress is not None:
            self.progress(self.stats["entries_in"], max(self.expected, self.stats["entries_in"]))
        await asyncio.sleep(0)

    def _ingest(self, batch: list[bytes], mode: VerifyMode) -> int:
        """Store what of `batch` can be stored now; hold back the feeds that wait (see BENIGN)."""
        stored = 0
        while batch:
            try:
                stored += self.hub.take_entries(batch, mode, self)
                return stored
            except Refused as exc:
                if exc.code not in BENIGN or exc.index is None:
                    raise Misbehaved(
                        f"it sent an entry refused as {exc.reason}: {exc.message}", reason="refused_entry"
                    ) from None
                # Hold back the waiting entry's feed from that entry on; store the rest.
                author = _author_of(batch[exc.index])
                keep, wait = [], []
                for i, raw in enumerate(batch):
                    (wait if i >= exc.index and _author_of(raw) == author else keep).append(raw)
                if exc.code in (Reason.SEQ_GAP, Reason.MISSING_REF):
                    self._carry.extend(wait)
                batch = keep
        if len(self._carry) > MAX_CARRY:
            log.info("dropped %d entries from %s that wait for others", len(self._carry), self.peer.hex()[:16])
            self._carry = []
        return stored

    def _retry_carry(self) -> None:
        while self._carry:
            carry, self._carry = self._carry, []
            if not self._ingest(carry, VerifyMode.EVERY):
                self._carry = carry if len(carry) <= MAX_CARRY else []
                return

    # -- catching the peer up --------------------------------------------------------------

    async def _serve_catch_up(self) -> None:
        try:
            await self._catch_up_loop()
        except (CommuneError, OSError) as exc:  # the link failed: end the session, never hang it
            log.info("catching %s up failed: %s", self.peer.hex()[:16], getattr(exc, "message", exc))
            self.link.abort()

    async def _catch_up_loop(self) -> None:
        while True:
            self._again = False
            frontier = self._their_frontier
            assert frontier is not None
            await self._send_missing(frontier)
            await self.send(Synced(self.hub.state.height))
            self.sent_synced.set()
            if not self._again:
                return

    async def _send_missing(self, frontier: Frontier) -> None:
        hub = self.hub
        # Proofs first: they freeze feeds, so the peer passes over what they condemn.
        forks, bad_links = hub.proofs()
        if frontier.proofs < len(forks) + len(bad_links):
            for batch in by_size(forks, MAX_PROOFS):
                await self.send(Proofs(batch, []))
            for batch in by_size(bad_links, MAX_PROOFS):
                await self.send(Proofs([], batch))
        have = dict(frontier.feeds)
        lacking = sum(max(0, seq - have.get(author, 0)) for author, seq in hub.entries.frontier().items())
        batch_bytes = BULK_BATCH_BYTES if lacking > BULK_THRESHOLD else BATCH_BYTES
        chunks: list[bytes] = []
        size = entries = 0
        for count, packed in _fitting(hub.entries.chunks_since(have)):
            if (
                size + len(packed) > MAX_FRAME_BYTES - 4096
                or len(chunks) == MAX_CHUNKS
                or entries + count > MAX_BATCH_ENTRIES
            ):
                await self._send_entries(chunks)
                chunks, size, entries = [], 0, 0
            chunks.append(packed)
            size += len(packed)
            entries += count
            self.stats["entries_out"] += count
            if size >= batch_bytes:
                await self._send_entries(chunks)
                chunks, size, entries = [], 0, 0
        if chunks:
            await self._send_entries(chunks)
        height = frontier.height
        while True:
            raws = hub.state.blocks_after(height, MAX_BLOCKS)
            if not raws:
                break
            for batch in by_size(raws, MAX_BLOCKS):
                await self.send(Blocks(batch))
            self.stats["blocks_out"] += len(raws)
            height += len(raws)
        if frontier.height == hub.state.height and frontier.height > 0 and frontier.head != hub.state.state.block_id:
            head = hub.state.block(frontier.height)  # let the peer see the other head: a fork proof
            if head is not None:
                await self.send(Blocks([head]))

    async def _send_entries(self, chunks: Iterable[bytes]) -> None:
        await self.send(Entries(list(chunks)))
        await asyncio.sleep(0)

    async def close(self) -> None:
        await self.link.close()


def by_size(items: Sequence[bytes], most: int, budget: int = MAX_FRAME_BYTES - 64 * 1024) -> Iterator[list[bytes]]:
    """`items` in consecutive batches of at most `most` items that fit one frame. An item too
    large for any frame is left out (no peer could take it)."""
    batch: list[bytes] = []
    size = 0
    for item in items:
        if len(item) > budget:
            log.warning("left out an item of %d bytes, too large for a frame", len(item))
            continue
        if batch and (len(batch) == most or size + len(item) > budget):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item)
    if batch:
        yield batch


def _fitting(chunks: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Chunks cut smaller where one would not fit a frame (large entries)."""
    for count, packed in chunks:
        if len(packed) <= MAX_FRAME_BYTES - 64 * 1024:
            yield count, packed
            continue
        for batch in by_size(_unpack(packed), CHUNK_LIMIT):
            yield len(batch), _pack(batch)


def _author_of(raw: bytes) -> bytes:
    try:
        return decode_entry(raw).author
    except Refused:
        return b""
