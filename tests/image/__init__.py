"""Tests for tidegate.image: references, sources, registry client, credentials."""
