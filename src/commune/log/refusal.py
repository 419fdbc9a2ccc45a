"""Why an entry is refused: one stable name per reason, and a plain sentence for each.

The names are part of the protocol (docs/protocol.md) and never change meaning.
"""

from __future__ import annotations

from enum import StrEnum

from commune.core.errors import CommuneError


class Reason(StrEnum):
    MALFORMED_ENTRY = "malformed_entry"
    TOO_LARGE = "too_large"
    NON_CANONICAL = "non_canonical"
    UNSUPPORTED_VERSION = "unsupported_version"
    WRONG_COMMUNE = "wrong_commune"
    UNKNOWN_KIND = "unknown_kind"
    MALFORMED_BODY = "malformed_body"
    FUTURE_TIME = "future_time"
    BAD_SIGNATURE = "bad_signature"
    SEQ_GAP = "seq_gap"
    PREV_MISMATCH = "prev_mismatch"
    TIME_BACKWARDS = "time_backwards"
    MISSING_REF = "missing_ref"
    TIME_BEHIND_REF = "time_behind_ref"
    FEED_FROZEN = "feed_frozen"
    BAD_FORK_PROOF = "bad_fork_proof"
    BAD_LINK_PROOF = "bad_link_proof"


EXPLANATIONS: dict[Reason, str] = {
    Reason.MALFORMED_ENTRY: "the bytes are not an entry",
    Reason.TOO_LARGE: "the entry is larger than the protocol allows",
    Reason.NON_CANONICAL: "the entry is not in its one canonical encoding",
    Reason.UNSUPPORTED_VERSION: "the entry uses a format version this node does not know",
    Reason.WRONG_COMMUNE: "the entry belongs to another commune",
    Reason.UNKNOWN_KIND: "the entry is of a kind this node does not know",
    Reason.MALFORMED_BODY: "the entry's body is not well-formed for its kind",
    Reason.FUTURE_TIME: "the entry claims a time too far in this node's future",
    Reason.BAD_SIGNATURE: "the entry's signature is not valid for its author",
    Reason.SEQ_GAP: "the entry's sequence number does not follow its feed's last entry",
    Reason.PREV_MISMATCH: "the entry does not name its feed's previous entry",
    Reason.TIME_BACKWARDS: "the entry claims an earlier time than the entry before it in its feed",
    Reason.MISSING_REF: "the entry refers to an entry this node does not have",
    Reason.TIME_BEHIND_REF: "the entry claims an earlier time than an entry it refers to",
    Reason.FEED_FROZEN: "the entry's feed is frozen by a fork proof",
    Reason.BAD_FORK_PROOF: "the fork proof does not prove a fork",
    Reason.BAD_LINK_PROOF: "the bad-link proof does not prove a badly signed entry",
}


class Refused(CommuneError):
    """An entry (or a batch, through one of its entries) refused for a named reason.

    `index` is the entry's position in the batch it came in, when it came in one.
    """

    def __init__(self, reason: Reason, detail: str = "", *, index: int | None = None) -> None:
        self.reason = reason.value
        self.code = reason
        self.detail = detail
        self.index = index
        where = f"entry {index} of the batch: " if index is not None else ""
        text = EXPLANATIONS[reason] + (f" ({detail})" if detail else "")
        super().__init__(f"refused ({reason.value}): {where}{text}")

    def at(self, index: int) -> Refused:
        """The same refusal, naming the entry's position in its batch."""
        return Refused(self.code, self.detail, index=index)
