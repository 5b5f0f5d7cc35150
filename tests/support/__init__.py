"""Test helpers shared across the suite: image factory, real registries."""
