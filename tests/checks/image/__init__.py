"""Tests of the image configuration checks (tidegate.checks.image)."""
