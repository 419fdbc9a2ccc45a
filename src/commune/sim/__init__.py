"""Simulations and scenarios that drive real stores, rules and chains."""
