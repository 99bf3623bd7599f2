"""``scripts/bench``: measures the running system (see README, Performance)."""
