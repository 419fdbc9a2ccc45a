"""The kinds of entry and the typed body of each.

This is the vocabulary of the feeds: what a person can say in their own name. Each kind maps
to a msgspec Struct encoded as an array; a body must decode strictly to its Struct and
re-encode to the same bytes. The rules give the kinds their meaning; this module only says
what is well-formed. Adding a kind is a protocol change: document it in docs/protocol.md.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import decoder

Text = Annotated[str, Meta(max_length=4096)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Address = Annotated[str, Meta(min_length=1, max_length=300)]


class Body(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """Base of every entry body."""


class Profile(Body):
    """How a participant wants to be shown, and where their node can be reached."""

    name: Name
    addresses: Annotated[tuple[Address, ...], Meta(max_length=16)] = ()


class Note(Body):
    """Free text in the author's own name (an announcement, a minute, a comment)."""

    text: Text


KINDS: dict[str, type[Body]] = {
    "profile": Profile,
    "note": Note,
}

KIND_OF: dict[type[Body], str] = {cls: kind for kind, cls in KINDS.items()}

BODY_DECODERS: dict[str, msgspec.msgpack.Decoder] = {kind: decoder(cls) for kind, cls in KINDS.items()}
