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
