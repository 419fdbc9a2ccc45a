"""commune: software for a venture commune, run end to end by its members."""

__version__ = "0.1.0"
