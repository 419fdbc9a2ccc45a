"""The invariants checked after every block name what is wrong when a state breaks them."""

from __future__ import annotations

import msgspec
from communekit import Commune, rented

from commune.rules.invariants import violations


def test_arrears_that_do_not_add_up_are_named(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    state = c.state
    assert violations(state) == []
    workshop = c.enterprise("workshop")
    state.set("arrears", (workshop, aid), 50_00)  # owed by the table, not by the asset
    assert violations(state) == [f"asset {aid.hex()[:12]} has arrears 0 != owed on it 5000"]
    asset = state.tables["assets"][aid]
    state.set("assets", aid, msgspec.structs.replace(asset, arrears=50_00))
    assert violations(state) == []
    state.set("arrears", (workshop, aid), 0)
    state.set("assets", aid, msgspec.structs.replace(asset, arrears=0))
    assert violations(state) == [f"{workshop.hex()[:12]} owes 0 in arrears on {aid.hex()[:12]}"]
    state.rollback()
