"""Derived state: the chain and the feeds applied to materialised SQLite views; reports."""
