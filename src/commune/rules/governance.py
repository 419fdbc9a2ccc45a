"""Decisions (rules 20-21, DESIGN 3.3): proposals, votes, delegation, passing, expiry.

The electorate is fixed when a proposal is opened: the voting members (not on probation) at
that moment, and the yes votes it needs (`votes_needed`) are fixed with it. A proposal passes
as soon as its yes votes, direct or delegated, reach that number; once passed it stays passed.
One still open at its deadline is closed by the first block whose time is past it. A member
votes once per proposal. A vote can be delegated per topic (or for "all" topics), revocably;
a member's own vote always overrides their delegate's, and delegation follows a chain of
delegates to the first who voted.
"""

from __future__ import annotations

import msgspec

from commune.core.encoding import encode
from commune.core.hashing import blake2b256
from commune.log.bodies import (
    MOTION_TOPIC,
    TOPICS,
    AppealAdmissionMotion,
    ChangeCharterMotion,
    Delegate,
    DissolveMotion,
    ElectStewardMotion,
    ExpelEnterpriseMotion,
    MergeMotion,
    Motion,
    Propose,
    RecallStewardMotion,
    RegisterEnterpriseMotion,
    Vote,
)
from commune.log.entry import Entry
from commune.rules.charter import DAY_MS, CharterError, votes_needed
from commune.rules.effects import (
    CloseProposal,
    Effect,
    ExpelEnterprise,
    OpenProposal,
    RecordVote,
    RegisterEnterprise,
    SetCharter,
    SetDelegation,
    SetStatus,
    SetStewards,
)
from commune.rules.membership import admission
from commune.rules.model import CommuneState, Proposal, due_by_deadline
from commune.rules.refusal import RuleReason, RuleRefused

_motion_decoder = msgspec.msgpack.Decoder(Motion)
#: Longest chain of delegates followed (a cycle or a longer chain counts as no vote).
MAX_DELEGATION_DEPTH = 32


def require_voter(state: CommuneState, key: bytes) -> None:
    if not state.is_member(key):
        raise RuleRefused(RuleReason.NOT_A_MEMBER)
    if not state.is_voting_member(key):
        raise RuleRefused(RuleReason.ON_PROBATION)


def share_for(state: CommuneState, motion: Motion):
    charter = state.charter
    if isinstance(motion, (ChangeCharterMotion, DissolveMotion, MergeMotion)):
        return charter.supermajority.value
    return charter.majority.value


def check_motion(state: CommuneState, motion: Motion) -> None:
    """Refuse a motion that could not take effect if it passed now."""
    if isinstance(motion, RegisterEnterpriseMotion):
        if len(set(motion.signers)) != len(motion.signers) or motion.k > len(motion.signers):
            raise RuleRefused(RuleReason.BAD_MOTION, "signers must be distinct and k at most their number")
    elif isinstance(motion, ExpelEnterpriseMotion):
        ent = state.enterprise(motion.enterprise)
        if ent is None or not ent.active:
            raise RuleRefused(RuleReason.UNKNOWN_ENTERPRISE)
    elif isinstance(motion, ChangeCharterMotion):
        try:
            state.charter.with_change(motion.parameter, motion.value)
        except CharterError as exc:
            raise RuleRefused(RuleReason.BAD_MOTION, exc.message) from None
    elif isinstance(motion, ElectStewardMotion):
        if not state.is_member(motion.steward):
            raise RuleRefused(RuleReason.BAD_MOTION, "a steward must be a member")
    elif isinstance(motion, RecallStewardMotion):
        if motion.steward not in state.stewards:
            raise RuleRefused(RuleReason.BAD_MOTION, "that key is not a steward")
        if not state.is_member(motion.successor) or motion.successor in state.stewards:
            raise RuleRefused(RuleReason.BAD_MOTION, "the successor must be a member who is not a steward")
    elif isinstance(motion, AppealAdmissionMotion):
        att = state.tables["attestations"].get(motion.attestation)
        if att is None:
            raise RuleRefused(RuleReason.UNKNOWN_ATTESTATION)
        if state.is_member(att.person):
            raise RuleRefused(RuleReason.ALREADY_A_MEMBER)


def propose(state: CommuneState, entry: Entry, body: Propose) -> list[Effect]:
    require_voter(state, entry.author)
    limit = entry.time_ms + state.charter.max_voting_days * DAY_MS
    if not entry.time_ms < body.deadline_ms <= limit:
        raise RuleRefused(RuleReason.BAD_DEADLINE, f"at most {state.charter.max_voting_days} days after the proposal")
    check_motion(state, body.motion)
    electorate = sum(1 for _ in state.voting_members())
    needed = votes_needed(electorate, share_for(state, body.motion))
    return [
        OpenProposal(
            entry.id,
            entry.author,
            MOTION_TOPIC[type(body.motion)],
            encode(body.motion),
            body.deadline_ms,
            electorate,
            needed,
        )
    ]


def in_electorate(state: CommuneState, key: bytes, proposal: Proposal) -> bool:
    """Was `key` a voting member when `proposal` was opened (and is still a member)?"""
    m = state.member(key)
    return (
        m is not None
        and m.current
        and m.admitted_tick < proposal.opened_tick
        and m.probation_until_ms <= proposal.opened_ms
    )


def tally(state: CommuneState, proposal_id: bytes, proposal: Proposal) -> tuple[int, int]:
    """(yes, no) counting direct votes and the votes delegated to those who voted."""
    yes, no = proposal.direct_yes, proposal.direct_no
    delegations = state.tables["delegations"]
    if not delegations:
        return yes, no
    votes = state.tables["votes"]
    for delegator in sorted({d for d, _topic in delegations}):
        if (proposal_id, delegator) in votes or not in_electorate(state, delegator, proposal):
            continue
        choice = _follow(state, proposal_id, proposal.topic, delegator)
        yes += choice == "yes"
        no += choice == "no"
    return yes, no


def _follow(state: CommuneState, proposal_id: bytes, topic: str, key: bytes) -> str | None:
    delegations = state.tables["delegations"]
    votes = state.tables["votes"]
    seen = {key}
    for _ in range(MAX_DELEGATION_DEPTH):
        nxt = delegations.get((key, topic)) or delegations.get((key, "all"))
        if nxt is None or nxt in seen:
            return None
        choice = votes.get((proposal_id, nxt))
        if choice is not None:
            return choice
        seen.add(nxt)
        key = nxt
    return None


def vote(state: CommuneState, entry: Entry, body: Vote) -> list[Effect]:
    proposal = state.tables["proposals"].get(body.proposal)
    if proposal is None:
        raise RuleRefused(RuleReason.UNKNOWN_PROPOSAL)
    if proposal.status != "open" or entry.time_ms > proposal.deadline_ms:
        raise RuleRefused(RuleReason.PROPOSAL_CLOSED)
    if not state.is_member(entry.author):
        raise RuleRefused(RuleReason.NOT_A_MEMBER)
    if not in_electorate(state, entry.author, proposal):
        raise RuleRefused(RuleReason.NOT_IN_ELECTORATE)
    if (body.proposal, entry.author) in state.tables["votes"]:
        raise RuleRefused(RuleReason.ALREADY_VOTED)
    return [RecordVote(body.proposal, entry.author, body.choice)]


def after_vote(state: CommuneState, proposal_id: bytes) -> list[Effect]:
    """Once a vote is applied: the proposal passes if its yes votes reach what it needs."""
    proposal = state.tables["proposals"][proposal_id]
    yes, no = tally(state, proposal_id, proposal)
    if yes >= proposal.needed:
        return [CloseProposal(proposal_id, "passed", yes, no), *consequences(state, proposal)]
    return []


def delegate(state: CommuneState, entry: Entry, body: Delegate) -> list[Effect]:
    require_voter(state, entry.author)
    if body.topic not in TOPICS:
        raise RuleRefused(RuleReason.BAD_DELEGATION, f"topics are {', '.join(sorted(TOPICS))}")
    if body.to and (body.to == entry.author or not state.is_member(body.to)):
        raise RuleRefused(RuleReason.BAD_DELEGATION)
    return [SetDelegation(entry.author, body.topic, body.to)]


def consequences(state: CommuneState, proposal: Proposal) -> list[Effect]:
    """What a passed motion does. A motion that can no longer take effect does nothing."""
    motion = _motion_decoder.decode(proposal.motion)
    try:
        check_motion(state, motion)
    except RuleRefused:
        return []
    if isinstance(motion, RegisterEnterpriseMotion):
        eid = enterprise_id(proposal)
        return [RegisterEnterprise(eid, motion.name, motion.signers, motion.k)]
    if isinstance(motion, ExpelEnterpriseMotion):
        return [ExpelEnterprise(motion.enterprise)]
    if isinstance(motion, ChangeCharterMotion):
        return [SetCharter(motion.parameter, motion.value)]
    if isinstance(motion, ElectStewardMotion):
        # Stage 1 has one steward: the elected member replaces them.
        return [SetStewards((motion.steward,))]
    if isinstance(motion, RecallStewardMotion):
        return [SetStewards(tuple(motion.successor if s == motion.steward else s for s in state.stewards))]
    if isinstance(motion, AppealAdmissionMotion):
        att = state.tables["attestations"][motion.attestation]
        return admission(state, att.person, att.enterprise)
    if isinstance(motion, DissolveMotion):
        return [SetStatus("dissolved", b"")]
    if isinstance(motion, MergeMotion):
        return [SetStatus("merged", motion.other_commune)]
    raise AssertionError(motion)


def enterprise_id(proposal: Proposal) -> bytes:
    """An enterprise registered by proposal is named by a hash of that proposal's motion and opening."""
    return blake2b256(encode(["enterprise", proposal.motion, proposal.opened_tick]))


def due(state: CommuneState, time_ms: int) -> list[bytes]:
    """Proposals still open whose deadline is before `time_ms`, in (deadline, id) order."""
    return due_by_deadline(state.tables["proposals"], time_ms, lambda p: p.deadline_ms if p.status == "open" else None)


def close_at_deadline(state: CommuneState, proposal_id: bytes) -> list[Effect]:
    proposal = state.tables["proposals"][proposal_id]
    yes, no = tally(state, proposal_id, proposal)
    if yes >= proposal.needed:
        return [CloseProposal(proposal_id, "passed", yes, no), *consequences(state, proposal)]
    return [CloseProposal(proposal_id, "expired", yes, no)]
