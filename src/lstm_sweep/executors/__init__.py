"""Executors run work units and hand back their results; only the driver writes the store."""
