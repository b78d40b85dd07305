"""Checks of the trust and namespace invariants, and the pre-commit entry points."""
