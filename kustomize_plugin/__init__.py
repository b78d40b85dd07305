"""The KRM function and the renderer: accounts.yaml and base/ in, overlays, bootstrap configs
and Flux Kustomizations out. Imports capa_accounts.core only."""
