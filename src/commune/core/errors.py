"""The one base of every error a person or a peer can cause.

Each error carries a stable machine name (`reason`) and a plain sentence for a person
(`message`) that says what was wrong and, where there is something to do, what to do.
"""

from __future__ import annotations


class CommuneError(Exception):
    """An error with a stable reason name and a plain message."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0])
