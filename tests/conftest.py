"""Suite-wide pytest configuration: shared fixtures are registered here as plugins."""

pytest_plugins = ["tests.support.registry"]
