"""The README shows what the tool prints: the example's trust graph and the commands."""

from __future__ import annotations

import re

from conftest import PROJECT


def test_readme_graph_is_the_committed_mermaid_source() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- graph:start -->\n```mermaid\n(.*?)```\n<!-- graph:end -->", readme,
                      re.S)
    assert block, "README lacks the graph block between <!-- graph:start/end --> markers"
    mermaid = (PROJECT / "kustomize_plugin" / "example" / "trust-graph.mmd").read_text()
    assert block.group(1) == mermaid


def test_readme_opens_with_the_ci_test_command() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert ci in first_block
