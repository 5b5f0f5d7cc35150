"""The single-pass engine: verified layers → per-layer results (cacheable) → merged inventory."""
