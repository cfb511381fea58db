"""Storage backends: each one module behind the small :class:`Backend` protocol."""
