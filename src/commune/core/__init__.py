"""The bottom layer: money, rates, ids, keys and signatures, canonical encoding, the clock."""
