"""The messages of the sync protocol, one per frame (docs/protocol.md, "Sync").

Each message is a msgspec Struct encoded as a MessagePack array whose first element is its tag.
Entries, blocks and proofs travel as the bytes they are signed and stored as: the receiver
decodes and checks them itself, so the message layer only bounds their number and size.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import DECODE_ERRORS
from commune.core.errors import CommuneError

#: The version this node speaks; a peer speaking another is refused with `unsupported_version`.
PROTOCOL_VERSION = 1
#: Limits on one message (frames are limited to framing.MAX_FRAME_BYTES as well).
MAX_FEEDS = 100_000
MAX_CHUNKS = 4096
MAX_BLOCKS = 256
MAX_PROOFS = 1024

Key = Annotated[bytes, Meta(min_length=32, max_length=32)]
Blob = Annotated[bytes, Meta(max_length=8 * 1024 * 1024)]
Reason = Annotated[str, Meta(max_length=64)]
Text = Annotated[str, Meta(max_length=1000)]


class Message(msgspec.Struct, array_like=True, frozen=True, tag_field="t", forbid_unknown_fields=True):
    pass


class Hello(Message, tag=1):
    """The connecting side's first message: what it speaks and, if it is not yet a participant,
    the secret of its invitation. `want_genesis` asks for the commune's genesis (a new node)."""

    version: int
    commune: Key
    invitation: Annotated[bytes, Meta(max_length=32)] = b""
    want_genesis: bool = False


class Welcome(Message, tag=2):
    """The answer to an accepted Hello; `genesis` is the genesis bytes if they were asked for."""

    version: int
    genesis: Annotated[bytes, Meta(max_length=1024 * 1024)] = b""


class Refuse(Message, tag=3):
    """Why the sender will not go on (`reason` is a stable name); the link closes after it."""

    reason: Reason
    message: Text = ""


class Frontier(Message, tag=4):
    """What the sender holds: each feed's last seq, the chain height and the head block's id,
    and how many proofs it keeps. The receiver answers by sending what the sender lacks."""

    feeds: Annotated[list[tuple[Key, int]], Meta(max_length=MAX_FEEDS)]
    height: int
    head: Annotated[bytes, Meta(max_length=32)]
    proofs: int


class Entries(Message, tag=5):
    """Entries the receiver lacks. Each chunk is a MessagePack array of raw entries (as the
    entry store keeps them); chunks come in the order the sender stored them, which keeps every
    entry after the entries it refers to."""

    chunks: Annotated[list[Blob], Meta(max_length=MAX_CHUNKS)]


class Proofs(Message, tag=6):
    """Fork and bad-link proofs: they travel like entries and freeze feeds wherever they arrive."""

    forks: Annotated[list[Blob], Meta(max_length=MAX_PROOFS)] = []
    bad_links: Annotated[list[Blob], Meta(max_length=MAX_PROOFS)] = []


class Blocks(Message, tag=7):
    """Chain blocks in height order."""

    raws: Annotated[list[Blob], Meta(max_length=MAX_BLOCKS)]


class Synced(Message, tag=8):
    """The sender has sent everything the receiver's last Frontier lacked."""

    height: int


class Bye(Message, tag=9):
    """The sender is done (a one-shot sync); the receiver answers Bye once it has taken in all
    that came before, and the link closes."""


AnyMessage = Hello | Welcome | Refuse | Frontier | Entries | Proofs | Blocks | Synced | Bye

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AnyMessage)


class BadMessage(CommuneError):
    reason = "bad_message"


def encode_message(message: Message) -> bytes:
    return _encoder.encode(message)


def decode_message(frame: bytes) -> AnyMessage:
    """The message in `frame`; BadMessage for anything else."""
    try:
        return _decoder.decode(frame)
    except DECODE_ERRORS as exc:
        raise BadMessage(f"not a message of this protocol: {exc}") from None
