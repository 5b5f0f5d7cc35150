"""``python -m tidegate``."""

from tidegate.cli.main import entry

entry()
