"""One participant's node: its data directory, store, state, network and duties."""
