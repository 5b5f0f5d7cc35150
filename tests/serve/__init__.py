"""Tests of tidegate.serve: the admission webhook and the registry pull gate (issue 6)."""
