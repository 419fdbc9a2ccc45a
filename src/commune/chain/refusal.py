"""Why a block is refused: one stable name per reason (documented in docs/protocol.md)."""

from __future__ import annotations

from enum import StrEnum

from commune.core.errors import CommuneError


class BlockReason(StrEnum):
    MALFORMED_BLOCK = "malformed_block"
    WRONG_COMMUNE = "wrong_commune"
    WRONG_HEIGHT = "wrong_height"
    WRONG_PARENT = "wrong_parent"
    BLOCK_TIME_BACKWARDS = "block_time_backwards"
    BLOCK_FUTURE_TIME = "block_future_time"
    NOT_STEWARD = "not_steward"
    BAD_BLOCK_SIGNATURE = "bad_block_signature"
    TOO_FEW_SIGNATURES = "too_few_signatures"
    ENTRY_MISMATCH = "entry_mismatch"
    ENTRY_OUT_OF_ORDER = "entry_out_of_order"
    ENTRY_UNVERIFIED = "entry_unverified"
    ENTRY_AFTER_BLOCK = "entry_after_block"
    BAD_PROOF = "bad_proof"
    WRONG_EFFECTS = "wrong_effects"


EXPLANATIONS: dict[BlockReason, str] = {
    BlockReason.MALFORMED_BLOCK: "the bytes are not a block",
    BlockReason.WRONG_COMMUNE: "the block belongs to another commune",
    BlockReason.WRONG_HEIGHT: "the block's height does not follow the chain",
    BlockReason.WRONG_PARENT: "the block does not name the chain's last block as its parent",
    BlockReason.BLOCK_TIME_BACKWARDS: "the block claims an earlier time than its parent",
    BlockReason.BLOCK_FUTURE_TIME: "the block claims a time too far in this node's future",
    BlockReason.NOT_STEWARD: "the block is signed by a key that is not a steward",
    BlockReason.BAD_BLOCK_SIGNATURE: "a steward signature on the block is not valid",
    BlockReason.TOO_FEW_SIGNATURES: "the block lacks the signatures of enough stewards",
    BlockReason.ENTRY_MISMATCH: "the block names an entry that differs from the one held at that position",
    BlockReason.ENTRY_OUT_OF_ORDER: "the block takes in an entry that is not the next of its feed",
    BlockReason.ENTRY_UNVERIFIED: "the block takes in an entry whose signature this node has not verified",
    BlockReason.ENTRY_AFTER_BLOCK: "the block takes in an entry claiming a later time than the block",
    BlockReason.BAD_PROOF: "the block carries a fork or bad-link proof that does not hold",
    BlockReason.WRONG_EFFECTS: "the block's effects differ from what the rules compute",
}


class BlockRefused(CommuneError):
    def __init__(self, reason: BlockReason, detail: str = "") -> None:
        super().__init__(EXPLANATIONS[reason] + (f": {detail}" if detail else ""), reason=reason.value)
        self.block_reason = reason


class BlockPending(CommuneError):
    """The block names entries this node does not hold yet: fetch them, then check again."""

    reason = "block_pending"

    def __init__(self, missing: list[tuple[bytes, int]]) -> None:
        super().__init__(f"{len(missing)} entries named by the block are not held yet")
        self.missing = missing
