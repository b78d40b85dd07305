"""The README: what the project is, the two commands for a fresh machine at its very start, and
links into the documentation site (docs/), each to a page that exists."""

from __future__ import annotations

import re

from conftest import PROJECT

README = PROJECT / "README.md"


def test_readme_opens_with_the_ci_test_command() -> None:
    readme = README.read_text(encoding="utf-8")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert ci in first_block
    assert readme.index("```sh\n") < readme.index("## ")  # before any section


def test_readme_links_to_pages_that_exist() -> None:
    readme = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]*)", readme)
    assert len(links) >= 13, links
    missing = [link for link in links if not (PROJECT / link).exists()]
    assert missing == []


def test_readme_stays_short() -> None:
    """The guide, the reference and the figures live in docs/; the README points there."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 120, len(lines)


def test_the_architecture_section_names_every_room() -> None:
    """Every package of the import root has its line in the README's architecture section (a
    room added without one, or renamed, fails here)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    rooms = {
        init.parent.relative_to(PROJECT).as_posix()
        for top in ("capa_accounts", "hooks", "kustomize_plugin")
        for init in (PROJECT / top).glob("*/__init__.py")
    } | {"kustomize_plugin", "hooks"}
    rooms -= {"capa_accounts/core/schema"}  # a folder of core's, which its line covers
    missing = sorted(
        room
        for room in rooms
        if f"{room}/" not in section and room.split("/")[-1] + "/" not in section
    )
    assert missing == [], missing
