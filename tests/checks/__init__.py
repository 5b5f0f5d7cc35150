"""Tests of tidegate.checks."""
