"""The memory lifecycle: forgetting curve, tiers and compression policy (pure functions)."""
