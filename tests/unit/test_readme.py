"""The README shows what the tool prints: the example's trust graph and the commands."""

from __future__ import annotations

import re

from conftest import PROJECT


def test_readme_graph_is_the_committed_mermaid_source() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- graph:start -->\n```mermaid\n(.*?)```\n<!-- graph:end -->", readme, re.S
    )
    assert block, "README lacks the graph block between <!-- graph:start/end --> markers"
    mermaid = (PROJECT / "kustomize_plugin" / "example" / "trust-graph.mmd").read_text()
    assert block.group(1) == mermaid


def test_readme_opens_with_the_ci_test_command() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert ci in first_block


def _stack_order_section() -> str:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert "### Creating the stacks, in order" in readme
    return readme.split("### Creating the stacks, in order", 1)[1].split("\n## ", 1)[0]


def test_readme_creates_the_management_stack_first() -> None:
    """IAM refuses a trust policy naming a principal that does not exist yet."""
    section = _stack_order_section()
    management = section.index("--config bootstrap/management.yaml")
    assert management < section.index("--config bootstrap/<account>.yaml")
    assert "Invalid principal" in section[: management + 400]


def test_readme_says_what_the_controllers_role_trusts_besides_the_management() -> None:
    """CAPA's template trusts these service principals (transcribed in capa-reference)."""
    section = _stack_order_section()
    for service in ("ec2.amazonaws.com", "pods.eks.amazonaws.com"):
        assert f"`{service}`" in section
    assert "`trustStatements` trust exactly the management principal" in section
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    # The unqualified claim, said of the whole target file, is gone.
    assert "each target file trusts exactly" not in readme.lower()
