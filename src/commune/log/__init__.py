"""Signed single-writer feeds: entries, their verification, fork proofs and the entry store."""
