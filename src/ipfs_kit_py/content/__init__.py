"""Content addressing: CIDs, UnixFS import, dag-pb, CAR, verification."""
