"""What a rule reads of the entry that made an act: its id, its author and its claimed time.

An `Entry` is one. So is an `Act`: the act of an enterprise that waited for k of its signers
(`enterprise_acts`) is done when the last approval is taken in, under the id of the entry
that opened it, in the name of the signer who wrote that entry, at the approval's time.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Signed(Protocol):
    @property
    def id(self) -> bytes: ...

    @property
    def author(self) -> bytes: ...

    @property
    def time_ms(self) -> int: ...


class Act(NamedTuple):
    id: bytes
    author: bytes
    time_ms: int
