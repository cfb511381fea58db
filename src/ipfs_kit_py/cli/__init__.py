"""The ``ipfs-kit`` command line: a thin shell over the facade."""
