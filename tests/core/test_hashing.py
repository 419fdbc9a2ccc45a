"""Ids are BLAKE2b-256 (a 32-byte digest parameter, not BLAKE2b-512 cut short)."""

from __future__ import annotations

import pytest

from commune.core.hashing import ID_BYTES, blake2b256, short_hex

# BLAKE2b with digest_size=32 (RFC 7693 parameter block), known answers
EMPTY = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
ABC = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
# the first 32 bytes of BLAKE2b-512("abc"): a different value, which an id must not be
ABC_512_CUT = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"


def test_known_answers():
    assert ID_BYTES == 32
    assert blake2b256(b"").hex() == EMPTY
    assert blake2b256(b"abc").hex() == ABC
    assert blake2b256(b"abc").hex() != ABC_512_CUT


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_any_buffer_hashes_the_same(wrap):
    assert blake2b256(wrap(b"abc")).hex() == ABC


def test_short_hex_is_a_prefix():
    ident = bytes.fromhex(ABC)
    assert short_hex(ident) == ABC[:12]
    assert short_hex(ident, 4) == "bddd"
    assert short_hex(ident, 64) == ABC
