"""ipfs_kit_py: content-addressed storage across tiers, verified against its CID."""
