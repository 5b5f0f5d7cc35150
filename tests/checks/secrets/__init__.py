"""Secret scanner tests."""
