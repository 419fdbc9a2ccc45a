"""Ed25519 keys and signatures (PyNaCl / libsodium).

A signed message is stored and sent in libsodium's combined form: the 64-byte signature
followed by the signed bytes. Verification checks that form as it is, with no copying.
"""

from __future__ import annotations

from collections.abc import Sequence

import nacl.bindings
import nacl.exceptions
import nacl.signing

PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
SIGNATURE_BYTES = 64

_open = nacl.bindings.crypto_sign_open
_BadSignature = nacl.exceptions.BadSignatureError


class SecretKey:
    """An Ed25519 signing key. `public` is the 32-byte key everyone else knows it by."""

    __slots__ = ("_signing", "public")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._signing = nacl.signing.SigningKey(seed)
        self.public: bytes = bytes(self._signing.verify_key)

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self) -> bytes:
        return bytes(self._signing)

    def sign(self, message: bytes) -> bytes:
        """The combined form: signature (64 bytes) followed by `message`."""
        return bytes(self._signing.sign(message))

    def __repr__(self) -> str:
        return f"SecretKey(public={self.public.hex()[:12]}…)"


def verify(public: bytes, signed: bytes) -> bool:
    """Whether `signed` (signature + message) carries a valid signature by `public`."""
    if not isinstance(public, bytes) or len(public) != PUBLIC_KEY_BYTES:
        return False  # libsodium would read 32 bytes from wherever `public` starts
    try:
        _open(signed, public)
    except (_BadSignature, ValueError, TypeError):
        return False
    return True


def verify_all(items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
    """Verify (public, signed) pairs one after another on this thread."""
    return [verify(pk, sm) for pk, sm in items]
