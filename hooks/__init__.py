"""Checks of the trust and namespace invariants, and the pre-commit entry points. Import
capa_accounts.core and capa_accounts.kustomize_plugin (the renderer's plan, for CAPA-R001)."""
