"""Canonical encoding: one byte string per value; anything else is refused."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.encoding import EncodingError, NonCanonical, decode_canonical, decoder, encode
from commune.core.errors import CommuneError

FAST = settings(max_examples=200, deadline=None)


class Pair(msgspec.Struct, array_like=True, frozen=True):
    a: int
    b: str


class WithDefault(msgspec.Struct, array_like=True, frozen=True):
    a: int
    b: int = 0


class Inner(msgspec.Struct, array_like=True, frozen=True):
    n: int
    blob: bytes


class Record(msgspec.Struct, array_like=True, frozen=True):
    count: int
    name: str
    data: bytes
    flag: bool
    maybe: int | None
    numbers: list[int]
    tags: tuple[str, ...]
    inner: Inner
    inners: list[Inner]


INT = decoder(int)
PAIR = decoder(Pair)
RECORD = decoder(Record)

ints64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
inners = st.builds(Inner, n=ints64, blob=st.binary(max_size=40))
records = st.builds(
    Record,
    count=ints64,
    name=st.text(max_size=40),
    data=st.binary(max_size=300),
    flag=st.booleans(),
    maybe=st.none() | ints64,
    numbers=st.lists(ints64, max_size=20),
    tags=st.lists(st.text(max_size=10), max_size=20).map(tuple),
    inner=inners,
    inners=st.lists(inners, max_size=5),
)


# --- the canonical bytes (hand-written MessagePack) --------------------------------------------


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (5, b"\x05"),
        (-1, b"\xff"),
        (128, b"\xcc\x80"),
        (-33, b"\xd0\xdf"),
        ("x", b"\xa1x"),
        (b"x", b"\xc4\x01x"),
        (None, b"\xc0"),
        (True, b"\xc3"),
        (Pair(1, "x"), b"\x92\x01\xa1x"),
        (WithDefault(7), b"\x92\x07\x00"),
    ],
)
def test_encode_writes_the_shortest_form(value, data):
    assert encode(value) == data


def test_decode_canonical_accepts_canonical_bytes_in_any_buffer():
    raw = b"\x92\x01\xa1x"
    assert decode_canonical(raw, PAIR) == Pair(1, "x")
    assert decode_canonical(memoryview(raw), PAIR) == Pair(1, "x")
    assert decode_canonical(bytearray(raw), PAIR) == Pair(1, "x")


# --- non-canonical bytes are refused -----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xcd\x00\x05",  # uint16 5
        b"\xcc\x05",  # uint8 5
        b"\xce\x00\x00\x00\x05",  # uint32 5
        b"\xcf" + (5).to_bytes(8, "big"),  # uint64 5
        b"\xd0\x05",  # int8 5
        b"\xd1\x00\x05",  # int16 5
        b"\xd2\x00\x00\x00\x05",  # int32 5
        b"\xd3" + (5).to_bytes(8, "big"),  # int64 5
    ],
)
def test_five_in_a_wider_form_than_needed_is_refused(data):
    assert msgspec.msgpack.Decoder(int).decode(data) == 5  # it does decode...
    with pytest.raises(NonCanonical):
        decode_canonical(data, msgspec.msgpack.Decoder(int))  # ...but is not canonical


@pytest.mark.parametrize(
    ("data", "dec"),
    [
        (b"\xd0\xff", INT),  # -1 as int8 instead of negative fixint 0xff
        (b"\xcd\x00\x80", INT),  # 128 as uint16 instead of uint8
        (b"\xd9\x01x", decoder(str)),  # "x" as str8 instead of fixstr
        (b"\xda\x00\x01x", decoder(str)),  # "x" as str16
        (b"\xc5\x00\x01x", decoder(bytes)),  # b"x" as bin16 instead of bin8
        (b"\xdc\x00\x01\x05", decoder(list[int])),  # [5] as array16 instead of fixarray
        (b"\xca\x3f\x80\x00\x00", decoder(float)),  # 1.0 as float32; canonical is float64
        (b"\x92\xd0\x01\xa1x", PAIR),  # a field in a wider form
        (b"\x92\x01\xd9\x01x", PAIR),
        (b"\xdc\x00\x02\x01\xa1x", PAIR),  # the struct's array in a wider form
        (b"\x93\x01\xa1x\x05", PAIR),  # an extra trailing field
        (b"\x91\x07", decoder(WithDefault)),  # a defaulted field left out
    ],
)
def test_other_non_canonical_forms_are_refused(data, dec):
    with pytest.raises((NonCanonical, EncodingError)):
        decode_canonical(data, dec)


def test_non_canonical_error_says_what_was_wrong():
    with pytest.raises(NonCanonical) as err:
        decode_canonical(b"\xcd\x00\x05", INT)
    assert err.value.reason == "non_canonical"
    assert "not the canonical encoding" in err.value.message
    assert isinstance(err.value, CommuneError)


def test_a_map_with_keys_out_of_order_is_not_canonical():
    dec = decoder(dict[str, int])
    ordered = decode_canonical(b"\x82\xa1a\x01\xa1b\x02", dec)
    assert ordered == {"a": 1, "b": 2}
    with pytest.raises(NonCanonical):
        decode_canonical(b"\x82\xa1b\x02\xa1a\x01", dec)


# --- malformed bytes are refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dec"),
    [
        (b"", INT),
        (b"\xc1", INT),  # the one never-used MessagePack byte
        (b"\x05\x05", INT),  # trailing bytes
        (b"\xcd\x00", INT),  # truncated uint16
        (b"\xa1x", INT),  # a string where an int belongs
        (b"\xc3", INT),  # a bool is not an int
        (b"\x05", decoder(str)),
        (b"\x92\x01", PAIR),  # truncated struct
        (b"\x92\xa1x\x01", PAIR),  # fields of the wrong types
        (b"\x91\x01", PAIR),  # a required field missing
        (b"\x82\xa1a\x01\xa1b\xa1x", PAIR),  # a map where an array belongs
        (b"\x92\x01\xa1x\x00", PAIR),
        (b"\xff" * 20, RECORD),
    ],
)
def test_garbage_is_refused_with_encoding_error(data, dec):
    with pytest.raises(EncodingError) as err:
        decode_canonical(data, dec)
    assert err.value.reason == "malformed"
    assert err.value.message.startswith("not a well-formed value")
    assert isinstance(err.value, CommuneError)


INVALID_UTF8 = [
    (b"\xa2\xff\xfe", decoder(str)),
    (b"\x92\x01\xa1\x80", PAIR),
    (b"\x91\xa1\xff", decoder(list[str])),
]


@pytest.mark.parametrize(("data", "dec"), INVALID_UTF8)
def test_text_that_is_not_utf8_is_refused_with_encoding_error(data, dec):
    with pytest.raises(EncodingError):
        decode_canonical(data, dec)


def _decode(data: bytes, dec: msgspec.msgpack.Decoder) -> tuple[bool, object]:
    """(refused, value): refused when decode_canonical raises one of its two errors."""
    try:
        return False, decode_canonical(data, dec)
    except (EncodingError, NonCanonical):
        return True, None


@FAST
@given(st.binary(max_size=64))
def test_any_bytes_either_are_canonical_or_are_refused(data):
    for dec in (INT, PAIR, RECORD):
        refused, value = _decode(data, dec)
        if not refused:
            assert encode(value) == data


# --- round trips -------------------------------------------------------------------------------


@FAST
@given(records)
def test_random_structs_round_trip(record):
    data = encode(record)
    back = decode_canonical(data, RECORD)
    assert back == record
    assert encode(back) == data
    assert encode(record) == data  # deterministic


@FAST
@given(records, st.data())
def test_a_changed_byte_is_refused_or_is_another_canonical_value(record, data):
    raw = encode(record)
    i = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="index")
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[i]), label="byte")
    mutated = raw[:i] + bytes([new]) + raw[i + 1 :]
    refused, value = _decode(mutated, RECORD)
    if refused:
        return
    assert value != record
    assert encode(value) == mutated


@FAST
@given(st.lists(ints64, max_size=50))
def test_int_lists_round_trip(values):
    dec = decoder(list[int])
    assert decode_canonical(encode(values), dec) == values
