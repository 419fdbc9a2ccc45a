"""The venture commune as pure functions of data: what each entry and each block does."""
