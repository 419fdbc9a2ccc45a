"""The `commune` command."""
