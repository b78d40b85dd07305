"""One version, written once: what `--version` prints, what `init` pins, what the README, the
docs, the CHANGELOG and the action pin, and what the built wheel says about itself (version,
licence)."""

from __future__ import annotations

import re
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROJECT

from capa_accounts.cli import main
from capa_accounts.core import eks_versions, version
from capa_accounts.kustomize_plugin import example

PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def test_the_installed_version_is_pyprojects() -> None:
    # A stale editable install (pyproject bumped, not reinstalled) fails here, not in a release.
    assert metadata.version("capa-accounts") == VERSION == version.version()
    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.output) == (
        0,
        f"capa-accounts, version {VERSION} (EKS release calendar of {eks_versions.TABLE_DATE})\n",
    )


def test_no_module_writes_a_version_of_its_own() -> None:
    """The version is read back from the installed metadata, never repeated in the code."""
    literal = re.compile(rf"['\"]v?{re.escape(VERSION)}['\"]")
    sources = [
        *PROJECT.glob("capa_accounts/**/*.py"),
        *PROJECT.glob("hooks/**/*.py"),
        *PROJECT.glob("kustomize_plugin/**/*.py"),
        *PROJECT.glob("kustomize_plugin/example/*"),
    ]
    assert sources
    offenders = [
        p.relative_to(PROJECT).as_posix()
        for p in sources
        if p.is_file() and literal.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_init_pins_the_release_of_the_running_tool(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "repo" / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert repo["rev"] == f"v{VERSION}"
    # The template holds no version at all: another running version writes another rev.
    assert yaml.safe_load(example.pre_commit_config("v9.8.7"))["repos"][0]["rev"] == "v9.8.7"


def _readme_and_docs() -> str:
    pages = [PROJECT / "README.md", *sorted((PROJECT / "docs").rglob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in pages)


def test_changelog_readme_and_docs_pin_this_release() -> None:
    changelog = (PROJECT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\] - \d{4}-\d\d-\d\d$", changelog, re.M)
    assert released and released[0] == VERSION, "the newest CHANGELOG entry is this version"
    assert f"[{VERSION}]: " in changelog  # its link to the tag
    readme = _readme_and_docs()
    pins = re.findall(r"(?:rev: |@)(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)(?![\w.-])", readme)
    assert len(pins) >= 4, pins  # pre-commit, GitHub Actions, GitLab CI, the action
    assert set(pins) == {f"v{VERSION}"}
    wheels = re.findall(r"capa_accounts-(\d[^-]*)-py3-none-any\.whl", readme)
    assert wheels and set(wheels) == {VERSION}
    assert f"capa-accounts, version {VERSION}" in readme


def test_release_procedure_tags_the_pinned_version() -> None:
    contributing = (PROJECT / "docs" / "contributing.md").read_text(encoding="utf-8")
    section = contributing.split("## Releasing", 1)[1].split("\n## ", 1)[0]
    assert 'git tag -a "v$version"' in section
    assert "CHANGELOG.md" in section and "pyproject.toml" in section


@pytest.fixture
def wheel(built_wheel: Path) -> Path:
    return built_wheel


def test_wheel_carries_the_version_and_the_apache_licence(wheel: Path) -> None:
    assert wheel.name == f"capa_accounts-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        info = f"capa_accounts-{VERSION}.dist-info"
        meta = archive.read(f"{info}/METADATA").decode()
        licence = archive.read(f"{info}/licenses/LICENSE").decode()
        template = archive.read("capa_accounts/kustomize_plugin/example/pre-commit-config.yaml")
    assert f"\nVersion: {VERSION}\n" in meta
    assert "\nLicense-Expression: Apache-2.0\n" in meta and "\nLicense-File: LICENSE\n" in meta
    assert licence == (PROJECT / "LICENSE").read_text(encoding="utf-8")
    assert b"{release_tag}" in template  # init fills it in from the installed version


def test_license_is_the_full_apache_2_text() -> None:
    text = (PROJECT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n                           Version 2.0")
    for section in range(1, 10):
        assert f"\n   {section}. " in text, section
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply" in text
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    # setuptools reads an SPDX string from 77 on: the lower bound must say so.
    (requirement,) = PYPROJECT["build-system"]["requires"]
    low = re.fullmatch(r"setuptools>=(\d+)", requirement)
    assert low and int(low.group(1)) >= 77
