"""Storacha: a native ucanto client (UCAN 0.9.1, agent messages, blob uploads)."""
