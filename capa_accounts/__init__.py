"""capa-accounts: multi-account CAPA for GitOps.

One import root in three layers that import one way (docs/architecture.md):
``capa_accounts.core`` (model, YAML, schemas, resource names, the kustomization evaluator)
<- ``capa_accounts.kustomize_plugin`` (the KRM function and the renderer)
<- ``capa_accounts.hooks`` (the checks and the pre-commit entry points)
<- ``capa_accounts.cli`` (the command line).
"""
