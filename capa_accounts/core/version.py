"""The version of capa-accounts: written once, in ``pyproject.toml``, read here at run time.

``importlib.metadata`` reads what pip installed from that one line (the wheel's ``METADATA``),
so ``--version``, the ``rev:`` that ``init`` pins and the release tag cannot disagree.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "capa-accounts"
# The form of a release tag: "v" and the version (docs/contributing.md, "Releasing").
TAG_PREFIX = "v"


def version() -> str:
    """The installed distribution's version; "0+unknown" when run from an uninstalled tree."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def release_tag(of: str | None = None) -> str:
    """The git tag of a release: ``v0.1.0`` for version 0.1.0."""
    return TAG_PREFIX + (of or version())


def documentation_url() -> str | None:
    """The documentation site's address, ending in "/": ``[project.urls] Documentation`` in
    ``pyproject.toml``, read back from the installed metadata (``Project-URL``) as the version
    is. None when run from an uninstalled tree."""
    try:
        urls = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip() == "Documentation" and url.strip():
            return url.strip().rstrip("/") + "/"
    return None
