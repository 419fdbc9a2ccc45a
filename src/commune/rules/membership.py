"""Members by labour (rules 1-3), outside investors (rule 4).

A signer of a member enterprise attests that a person works there; the person accepts; the
block that takes the acceptance in admits them, on probation for as long as the charter says.
The commune may not refuse a worker of one of its enterprises: an admission refused for a
reason the person disputes (say, their enterprise was not yet registered) is appealed by a
proposal (see governance), which admits them when it passes.
"""

from __future__ import annotations

from commune.log.bodies import Accept, Attest, Leave, Profile
from commune.log.bodies import RegisterInvestor as RegisterInvestorBody
from commune.log.entry import Entry
from commune.rules.effects import Admit, Depart, Effect, RecordAttestation, RegisterInvestor, SetName
from commune.rules.model import CommuneState
from commune.rules.refusal import RuleReason, RuleRefused


def require_signer(state: CommuneState, enterprise: bytes, signer: bytes, *, expelled_ok: bool = False) -> None:
    """Refuse unless `signer` signs for `enterprise`, a registered enterprise not expelled (or,
    with `expelled_ok`, expelled: its rentals run on and its money may leave its account)."""
    ent = state.enterprise(enterprise)
    if ent is None or not (ent.active or expelled_ok):
        raise RuleRefused(RuleReason.UNKNOWN_ENTERPRISE, enterprise.hex()[:12])
    if signer not in ent.signers:
        raise RuleRefused(RuleReason.NOT_A_SIGNER, f"{signer.hex()[:12]} for {ent.name}")


def admission(state: CommuneState, person: bytes, enterprise: bytes) -> list[Effect]:
    """The admission of `person` through `enterprise`, probation starting at the block's time.
    (Someone readmitted keeps the dividends of their earlier membership: see model.Member.)"""
    return [Admit(person, enterprise, state.time_ms + state.charter.probation_ms)]


def attest(state: CommuneState, entry: Entry, body: Attest) -> list[Effect]:
    require_signer(state, body.enterprise, entry.author)
    if state.is_member(body.person):
        raise RuleRefused(RuleReason.ALREADY_A_MEMBER)
    return [RecordAttestation(entry.id, body.enterprise, body.person, entry.author)]


def accept(state: CommuneState, entry: Entry, body: Accept) -> list[Effect]:
    att = state.tables["attestations"].get(body.attestation)
    if att is None:
        raise RuleRefused(RuleReason.UNKNOWN_ATTESTATION)
    if att.person != entry.author:
        raise RuleRefused(RuleReason.NOT_YOUR_ATTESTATION)
    if state.is_member(entry.author):
        raise RuleRefused(RuleReason.ALREADY_A_MEMBER)
    ent = state.enterprise(att.enterprise)
    if ent is None or not ent.active:
        raise RuleRefused(RuleReason.UNKNOWN_ENTERPRISE, "the enterprise that attested is no longer registered")
    return admission(state, entry.author, att.enterprise)


def leave(state: CommuneState, entry: Entry, body: Leave) -> list[Effect]:
    if not state.is_member(entry.author):
        raise RuleRefused(RuleReason.NOT_A_MEMBER)
    return [Depart(entry.author)]


def profile(state: CommuneState, entry: Entry, body: Profile) -> list[Effect]:
    """A participant's profile names them in reports; anyone else's profile changes nothing."""
    if not state.is_participant(entry.author):
        return []
    return [SetName(entry.author, body.name)]


def register_investor(state: CommuneState, entry: Entry, body: RegisterInvestorBody) -> list[Effect]:
    if entry.author in state.tables["investors"]:
        raise RuleRefused(RuleReason.ALREADY_REGISTERED)
    return [RegisterInvestor(entry.author, body.name)]
