"""Tests for tidegate.trust: signature storage, signing and verification, and their CLI."""
