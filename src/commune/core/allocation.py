"""Dividing a whole number of minor units by weights: exact shares, floors, largest remainder.

This is the one rounding rule of the commune (DESIGN section 2): compute each exact share as a
rational, floor it to a minor unit, then hand the units left over one each to the largest
fractional remainders, ties to the earlier entry. No unit is created or lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from commune.core.errors import CommuneError


class AllocationError(CommuneError):
    reason = "bad_allocation"


def floor_to_minor(exact: Fraction) -> tuple[int, Fraction]:
    """The named rounding step: an exact amount floored to whole minor units, and what was cut off."""
    whole = exact.numerator // exact.denominator
    return whole, exact - whole


def allocate(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """Split `total` minor units in proportion to `weights` by largest remainder.

    Returns one whole amount per weight, summing exactly to `total`. Entries with zero weight
    get nothing. Leftover units go to the largest fractional parts; among equal fractional
    parts, to the earlier entry.
    """
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise AllocationError(f"can only allocate a whole, non-negative number of minor units, not {total!r}")
    for w in weights:
        if isinstance(w, (bool, float)) or not isinstance(w, (int, Fraction)) or w < 0:
            raise AllocationError(f"weights must be non-negative integers or fractions, not {w!r}")
    weight_sum = sum(weights, Fraction(0))
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise AllocationError("cannot allocate a non-zero amount over weights that are all zero")
    shares: list[int] = []
    remainders: list[Fraction] = []
    for w in weights:
        whole, rest = floor_to_minor(Fraction(total) * w / weight_sum)
        shares.append(whole)
        remainders.append(rest)
    leftover = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        shares[i] += 1
    return shares
