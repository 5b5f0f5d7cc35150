"""Tests of tidegate.policy (issue 6)."""
