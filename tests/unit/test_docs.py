"""The documentation site: it builds strictly (no broken link or anchor), offline; its rule pages
are what the rule docstrings give; and the pages show what the tool prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT

from capa_accounts.core import eks_versions, version
from capa_accounts.hooks.report import rule_pages
from capa_accounts.hooks.rules import all_rules

DOCS = PROJECT / "docs"
# The pages other parts of the project write into; each must exist and be in the navigation.
PAGES = (
    "index.md",
    "getting-started.md",
    "configuration.md",
    "commands.md",
    "ci.md",
    "rules/index.md",
    "operator-mode.md",
    "admission-policy.md",
    "capa-facts.md",
    "reliability.md",
    "architecture.md",
    "contributing.md",
    "benchmarks.md",
)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict`, with the network out of reach: any fetch would fail the build."""
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    dead = "http://127.0.0.1:9"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(site.parent),
        "NO_MKDOCS_2_WARNING": "1",
        **{key: dead for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    }
    return subprocess.run(
        [mkdocs, "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    result = mkdocs_build(PROJECT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.e2e  # mkdocs build
def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    for name in PAGES:
        html = site / (
            "index.html" if name == "index.md" else name.replace(".md", "/index.html")
        ).replace("rules/index/index.html", "rules/index.html")
        assert html.is_file(), name
    assert "fonts.googleapis.com" not in (site / "index.html").read_text(encoding="utf-8")


@pytest.mark.e2e  # mkdocs build
def test_every_rule_has_its_anchor_on_its_family_page(site: Path) -> None:
    for rule in all_rules().values():
        html = (site / "rules" / rule_pages.family(rule) / "index.html").read_text("utf-8")
        assert f'id="{rule_pages.anchor(rule.id)}"' in html, rule.id
        assert rule_pages.page_path(rule) == f"rules/{rule_pages.family(rule)}/#{rule.id.lower()}"


def copy_of_the_site_sources(tmp_path: Path) -> Path:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(PROJECT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path / "mkdocs.yml"


@pytest.mark.e2e  # mkdocs build
@pytest.mark.parametrize(
    ("line", "warning"),
    [
        ("[the policy](admission-policy.md#no-such-section)", "does not contain an anchor"),
        ("[a page](no-such-page.md)", "not found among documentation files"),
        ("[a rule](rules/trust.md#capa-t999)", "does not contain an anchor"),
    ],
    ids=["anchor", "page", "rule-anchor"],
)
def test_a_broken_link_fails_the_build(tmp_path: Path, line: str, warning: str) -> None:
    config = copy_of_the_site_sources(tmp_path)
    with (tmp_path / "docs" / "ci.md").open("a", encoding="utf-8") as f:
        f.write(f"\nSee {line}.\n")
    result = mkdocs_build(config, tmp_path / "site")
    assert result.returncode == 1 and warning in result.stderr


@pytest.mark.e2e  # mkdocs build
def test_a_page_left_out_of_the_navigation_fails_the_build(tmp_path: Path) -> None:
    config = copy_of_the_site_sources(tmp_path)
    (tmp_path / "docs" / "rules" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    result = mkdocs_build(config, tmp_path / "site")
    assert result.returncode == 1 and "rules/orphan.md" in result.stderr


# --- generated rule pages --------------------------------------------------------------------


def test_the_rule_pages_are_current() -> None:
    assert rule_pages.stale() == [], (
        "rule pages out of date: run `python -m capa_accounts.hooks.report.rule_pages`"
    )


def test_a_stale_or_orphaned_rule_page_is_found_and_rewritten(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    docs = tmp_path / "docs"
    trust = docs / "rules" / "trust.md"
    trust.write_text(trust.read_text("utf-8").replace("Severity: error.", "Severity: warning."))
    gone = docs / "rules" / "retired.md"
    gone.write_text(f"{rule_pages.GENERATED}\n\n# Retired\n", encoding="utf-8")
    hand = docs / "rules" / "notes.md"  # not generated: never touched
    hand.write_text("# Notes\n", encoding="utf-8")
    assert rule_pages.stale(docs) == [trust, gone]
    assert rule_pages.write(docs) == [trust, gone]
    assert rule_pages.stale(docs) == [] and not gone.exists() and hand.is_file()
    assert trust.read_text("utf-8") == (DOCS / "rules" / "trust.md").read_text("utf-8")


def test_a_rule_page_shows_what_explain_prints() -> None:
    text = page("rules/trust.md")
    section = text.split("{ #capa-t003 }", 1)[1].split("\n## ", 1)[0]
    assert "**A target account's bootstrap `trustStatements` do not trust exactly" in section
    assert "Severity: error." in section
    for part in ("**Why**", "**Bad**", "**Good**", "**Fix**"):
        assert part in section
    assert 'Principal: {AWS: "*"}' in section  # the Bad example, verbatim in a code block
    change_aware = page("rules/changes.md").split("{ #capa-d001 }", 1)[1]
    assert "Runs only with `capa-accounts check --base REF`" in change_aware.split("\n## ")[0]


def test_the_docs_address_is_written_once_for_the_site_and_the_package() -> None:
    urls = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]["urls"]
    config = yaml.safe_load((PROJECT / "mkdocs.yml").read_text("utf-8"))
    assert urls["Documentation"] == config["site_url"]
    assert config["site_url"].endswith("/")
    # SARIF's helpUri reads it back from the installed metadata.
    assert version.documentation_url() == config["site_url"]


# --- what the pages say ----------------------------------------------------------------------


def test_the_graph_on_the_commands_page_is_the_committed_mermaid_source() -> None:
    block = re.search(
        r"<!-- graph:start -->\n```mermaid\n(.*?)```\n<!-- graph:end -->", page("commands.md"), re.S
    )
    assert block, "docs/commands.md lacks the graph block between <!-- graph:start/end -->"
    mermaid = (PROJECT / "kustomize_plugin" / "example" / "trust-graph.mmd").read_text()
    assert block.group(1) == mermaid
    assert "](assets/trust-graph.svg)" in page("commands.md")


def _stack_order_section() -> str:
    text = page("configuration.md")
    assert "## Creating the stacks, in order" in text
    return text.split("## Creating the stacks, in order", 1)[1].split("\n## ", 1)[0]


def test_the_management_stack_is_created_first() -> None:
    """IAM refuses a trust policy naming a principal that does not exist yet."""
    section = _stack_order_section()
    management = section.index("--config bootstrap/management.yaml")
    assert management < section.index("--config bootstrap/<account>.yaml")
    assert "Invalid principal" in section[: management + 400]


def test_the_docs_say_what_the_controllers_role_trusts_besides_the_management() -> None:
    """CAPA's template trusts these service principals (transcribed in capa-reference)."""
    section = _stack_order_section()
    for service in ("ec2.amazonaws.com", "pods.eks.amazonaws.com"):
        assert f"`{service}`" in section
    assert "`trustStatements` trust exactly the management principal" in section
    # The unqualified claim, said of the whole target file, is gone.
    assert "each target file trusts exactly" not in page("configuration.md").lower()


def test_the_configuration_page_names_the_eks_table_and_its_date() -> None:
    text = page("configuration.md")
    assert f"release calendar of {eks_versions.TABLE_DATE}" in text
    assert ", ".join(eks_versions.SUPPORTED) in text


def _test_names() -> set[str]:
    names = set()
    for path in (PROJECT / "tests").rglob("test_*.py"):
        names |= set(re.findall(r"^def (test_\w+)\(", path.read_text("utf-8"), re.M))
    return names


def test_the_reliability_table_names_tests_that_exist() -> None:
    table = page("reliability.md").split("## Bad input, and what the user sees", 1)[1]
    rows = [row for row in table.splitlines() if row.startswith("| ") and "---" not in row]
    named = {name for row in rows[1:] for name in re.findall(r"`(test_\w+)", row)}
    assert len(named) >= 60, len(named)
    assert named - _test_names() == set()


def test_the_test_name_check_would_notice_a_renamed_test() -> None:
    assert "test_render_refuses_an_overlay_file_symlinked_outside" in _test_names()
    assert "test_render_refuses_an_overlay_file_symlinked_elsewhere" not in _test_names()
