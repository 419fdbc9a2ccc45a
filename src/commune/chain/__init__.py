"""The commune chain: genesis, blocks, their certificates, building and checking them."""
