"""Where a repository's files live, relative to accounts.yaml: the one home of the paths render
writes (overlays/, bootstrap/, providers/, the Flux Kustomizations' folder) and reads (base/),
so that render, check and the hooks agree by construction. A test keeps the literals here."""

from __future__ import annotations

ACCOUNTS_FILE = "accounts.yaml"
BASE = "base"  # the templates of one account
OVERLAYS = "overlays"  # overlays/<account>, overlays/management
BOOTSTRAP = "bootstrap"  # bootstrap/<account>.yaml, bootstrap/management.yaml (clusterawsadm)
PROVIDERS = "providers"  # providers/<account> (operator mode)
FLUX_DIR = "clusters/management"  # the Kustomizations' folder unless spec.flux.path says
MANAGEMENT_BOOTSTRAP = f"{BOOTSTRAP}/management.yaml"


def overlay(name: str) -> str:
    """The overlay folder of an account (or of ``management``)."""
    return f"{OVERLAYS}/{name}"


def bootstrap_file(name: str) -> str:
    """The clusterawsadm config of an account (or of ``management``)."""
    return f"{BOOTSTRAP}/{name}.yaml"
