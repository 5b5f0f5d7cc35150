"""Secret scanning (issue 4): rules as data, a chunked prefiltering scanner, and the image-config check.

    from tidegate.checks.secrets import SecretScanner, ConfigSecretsCheck, findings_from_matches
"""

from __future__ import annotations

from tidegate.checks.secrets.config import ConfigSecretsCheck, findings_from_matches
from tidegate.checks.secrets.rules import ALL_RULES, DEFAULT_RULES, SecretRule
from tidegate.checks.secrets.scanner import SecretMatch, SecretScanner

__all__ = ["ALL_RULES", "DEFAULT_RULES", "ConfigSecretsCheck", "SecretMatch", "SecretRule", "SecretScanner",
           "findings_from_matches"]
