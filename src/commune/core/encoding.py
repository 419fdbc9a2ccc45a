"""Canonical encoding: MessagePack through msgspec Structs encoded as arrays.

Every record that is signed or hashed is a msgspec Struct with `array_like=True`, so the
encoding has no maps and no field names, and msgspec writes each integer, string and byte
string in its shortest form (where a map is encoded at all, its keys are sorted). That makes
the encoding of a value unique: bytes that decode to a value but do not re-encode to
themselves are not canonical, and are refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from commune.core.errors import CommuneError

T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder(order="sorted")

#: What msgspec raises for bytes that are not a value of the expected type. Invalid UTF-8 in a
#: string surfaces as UnicodeDecodeError, absurd nesting as RecursionError.
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError, ValueError)


class EncodingError(CommuneError):
    """Bytes that are not a well-formed value of the expected type."""

    reason = "malformed"


class NonCanonical(CommuneError):
    """Bytes that decode, but are not the unique canonical encoding of what they decode to."""

    reason = "non_canonical"


def encode(value: Any) -> bytes:
    """The canonical bytes of `value`."""
    return _encoder.encode(value)


def decoder(type_: type[T]) -> msgspec.msgpack.Decoder:
    """A strict decoder for `type_` (build once, reuse: decoders are cached by callers)."""
    return msgspec.msgpack.Decoder(type_)


def decode_canonical(data: bytes | memoryview, dec: msgspec.msgpack.Decoder) -> Any:
    """Decode `data` with `dec` and insist it re-encodes to exactly `data`."""
    try:
        value = dec.decode(data)
    except DECODE_ERRORS as exc:
        raise EncodingError(f"not a well-formed value: {exc}") from None
    if _encoder.encode(value) != data:
        raise NonCanonical("the bytes decode, but are not the canonical encoding of their value")
    return value
