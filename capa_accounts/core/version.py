"""The version of capa-accounts: written once, in ``pyproject.toml``, read here at run time.

pip installs that one line as the ``Version`` of the wheel's ``METADATA``, and it is read back
from there, so ``--version``, the ``rev:`` that ``init`` pins and the release tag cannot
disagree.
"""

from __future__ import annotations

import functools
import os

DISTRIBUTION = "capa-accounts"
# The form of a release tag: "v" and the version (docs/contributing.md, "Releasing").
TAG_PREFIX = "v"
# The installed project's metadata directory: ``{name}-{version}.dist-info`` with the name's
# runs of "-", "_" and "." as one "_" (PyPA specifications, "Recording installed projects",
# "The .dist-info directory").
_DIST_INFO, _SUFFIX = DISTRIBUTION.replace("-", "_") + "-", ".dist-info"


@functools.cache
def version() -> str:
    """The installed distribution's version; "0+unknown" when run from an uninstalled tree.

    The generated header names it, so every check and render asks: read from the
    ``.dist-info`` beside this package when there is exactly one (what pip installs), which
    costs a directory listing, where ``importlib.metadata`` costs 15 to 20 ms of imports."""
    return _beside() or _from_metadata()


def _beside() -> str | None:
    """``Version:`` of the one ``capa_accounts-*.dist-info/METADATA`` beside the package (the
    header lines end at the first empty line, core metadata being an email header)."""
    site = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        found = [n for n in os.listdir(site) if n.startswith(_DIST_INFO) and n.endswith(_SUFFIX)]
        if len(found) != 1:
            return None
        with open(os.path.join(site, found[0], "METADATA"), encoding="utf-8") as handle:
            fields: dict[str, str] = {}
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
    except (OSError, UnicodeDecodeError):
        return None
    name = fields.get("name", "").lower().replace("_", "-").replace(".", "-")
    return fields.get("version") or None if name == DISTRIBUTION else None


def _from_metadata() -> str:
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def release_tag(of: str | None = None) -> str:
    """The git tag of a release: ``v0.1.0`` for version 0.1.0."""
    return TAG_PREFIX + (of or version())


def hook_rev() -> tuple[str, str]:
    """The ``rev:`` of the pre-commit hooks that check as this capa-accounts does, and why.

    Installed from git (``pip install git+URL@REF``), the commit it was built from: pip records
    it in the distribution's ``direct_url.json`` as ``vcs_info.commit_id`` (PEP 610, packaging
    specification "Direct URL Data Structure"), and it exists wherever that URL is cloned.
    Otherwise the release tag of the installed version.
    """
    import json
    from importlib import metadata

    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        commit = (json.loads(text or "{}").get("vcs_info") or {}).get("commit_id")
    except (metadata.PackageNotFoundError, ValueError, AttributeError):
        commit = None
    if isinstance(commit, str) and len(commit) in (40, 64) and commit.isalnum():
        return commit, "the commit capa-accounts was installed from (pip's direct_url.json)"
    return release_tag(), "the release of capa-accounts that wrote this repository"


def documentation_url() -> str | None:
    """The documentation site's address, ending in "/": ``[project.urls] Documentation`` in
    ``pyproject.toml``, read back from the installed metadata (``Project-URL``) as the version
    is. None when run from an uninstalled tree."""
    from importlib import metadata

    try:
        urls = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip() == "Documentation" and url.strip():
            return url.strip().rstrip("/") + "/"
    return None
