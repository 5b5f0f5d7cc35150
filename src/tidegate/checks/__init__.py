"""Secrets and misconfigurations: rules as data, one check module per area, registered in `checks.registry`.

    from tidegate.checks.registry import CHECKS, RULES
"""
