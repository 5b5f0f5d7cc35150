"""Inventory × vulnerability database → explainable findings and suppressions."""
