"""Ed25519 keys and signatures: sign/verify, tamper detection, the parallel verifier."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.keys import (
    PUBLIC_KEY_BYTES,
    SEED_BYTES,
    SIGNATURE_BYTES,
    SecretKey,
    verify,
    verify_all,
)

FAST = settings(max_examples=150, deadline=None)

# RFC 8032, section 7.1, TEST 1 (empty message)
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

ALICE = SecretKey(bytes(range(32)))
BOB = SecretKey(bytes(range(100, 132)))


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_sizes():
    assert (PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES) == (32, 32, 64)


def test_rfc8032_known_answer():
    key = SecretKey(RFC_SEED)
    assert key.public == RFC_PUBLIC
    assert key.seed == RFC_SEED
    signed = key.sign(b"")
    assert signed == RFC_SIGNATURE
    assert verify(RFC_PUBLIC, RFC_SIGNATURE)


def test_signed_form_is_signature_then_message():
    signed = ALICE.sign(b"rent paid")
    assert len(signed) == SIGNATURE_BYTES + len(b"rent paid")
    assert signed[SIGNATURE_BYTES:] == b"rent paid"


def test_same_seed_same_key_and_deterministic_signatures():
    again = SecretKey(ALICE.seed)
    assert again.public == ALICE.public
    assert again.sign(b"x") == ALICE.sign(b"x")
    assert ALICE.public != BOB.public


def test_generated_keys_differ_and_round_trip_through_their_seed():
    a, b = SecretKey.generate(), SecretKey.generate()
    assert a.public != b.public
    assert len(a.seed) == SEED_BYTES and len(a.public) == PUBLIC_KEY_BYTES
    assert SecretKey(a.seed).public == a.public


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_seed_must_be_32_bytes(length):
    with pytest.raises(ValueError, match="32 bytes"):
        SecretKey(bytes(length))


def test_repr_does_not_show_the_seed():
    text = repr(ALICE)
    assert ALICE.seed.hex() not in text
    assert ALICE.seed.hex()[:12] not in text
    assert ALICE.public.hex()[:12] in text


@FAST
@given(st.binary(max_size=256))
def test_sign_verify_round_trip(message):
    assert verify(ALICE.public, ALICE.sign(message))


@FAST
@given(st.binary(max_size=64), st.data())
def test_any_flipped_bit_in_signature_or_message_fails(message, data):
    signed = ALICE.sign(message)
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(signed) - 1), label="bit")
    assert not verify(ALICE.public, _flip(signed, bit))


@pytest.mark.parametrize("bit", [0, 7, 255, 256, 511])
def test_flipped_bit_in_signature_fails(bit):
    assert not verify(ALICE.public, _flip(ALICE.sign(b"transfer 100 EUR"), bit))


def test_flipped_bit_in_message_fails():
    signed = ALICE.sign(b"transfer 100 EUR")
    for bit in range(8 * SIGNATURE_BYTES, 8 * len(signed)):
        assert not verify(ALICE.public, _flip(signed, bit))


def test_wrong_key_fails():
    assert not verify(BOB.public, ALICE.sign(b"hello"))


def test_signature_moved_to_another_message_fails():
    sig = ALICE.sign(b"pay 1 EUR")[:SIGNATURE_BYTES]
    assert not verify(ALICE.public, sig + b"pay 9 EUR")


@pytest.mark.parametrize("length", [0, 1, 16, 31, 33, 64])
def test_wrong_length_key_returns_false_not_raises(length):
    # a key of the wrong length made of other bytes than the signer's key
    wrong = (BOB.public * 2)[:length]
    assert verify(wrong, ALICE.sign(b"hello")) is False


@pytest.mark.parametrize("public", [None, "not bytes", 12345, ALICE.public.hex()])
def test_key_of_wrong_type_returns_false(public):
    assert verify(public, ALICE.sign(b"hello")) is False


@pytest.mark.parametrize("cut", [0, 1, 32, 63])
def test_signed_shorter_than_a_signature_returns_false(cut):
    assert verify(ALICE.public, ALICE.sign(b"hello")[:cut]) is False


def test_signed_of_wrong_type_returns_false():
    assert verify(ALICE.public, None) is False
    assert verify(ALICE.public, "text") is False


def test_key_with_an_extra_byte_does_not_verify():
    assert verify(ALICE.public + b"\x00", ALICE.sign(b"hello")) is False


def _key_whose_public_ends_in_zero() -> SecretKey:
    for i in range(100_000):
        key = SecretKey(i.to_bytes(32, "big"))
        if key.public[-1] == 0:
            return key
    raise AssertionError("no key found")  # pragma: no cover


def test_key_cut_short_does_not_verify():
    key = _key_whose_public_ends_in_zero()
    assert verify(key.public[:31], key.sign(b"hello")) is False


# --- many at once ------------------------------------------------------------------------------


def _mixed_items(n: int) -> tuple[list[tuple[bytes, bytes]], list[bool]]:
    """n (public, signed) items, good and bad in a known pattern, with the expected answers."""
    items: list[tuple[bytes, bytes]] = []
    expected: list[bool] = []
    for i in range(n):
        signer = ALICE if i % 2 else BOB
        signed = signer.sign(b"entry %d" % i)
        kind = i % 7
        if kind == 0:
            items.append((signer.public, signed))
            expected.append(True)
        elif kind == 1:
            items.append((signer.public, _flip(signed, i % (8 * len(signed)))))
            expected.append(False)
        elif kind == 2:
            other = BOB if signer is ALICE else ALICE
            items.append((other.public, signed))
            expected.append(False)
        elif kind == 3:
            items.append((signer.public[:16], signed))
            expected.append(False)
        elif kind == 4:
            items.append((signer.public, signed[:40]))
            expected.append(False)
        else:
            items.append((signer.public, signed))
            expected.append(True)
    return items, expected


def test_verify_all_keeps_order():
    items, expected = _mixed_items(50)
    assert verify_all(items) == expected
    assert verify_all([]) == []
