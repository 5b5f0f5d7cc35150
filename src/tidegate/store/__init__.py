"""Persistence: per-layer result cache (and, later, scan history)."""
