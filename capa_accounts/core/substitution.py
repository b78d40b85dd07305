"""Values a template leaves to be substituted: ``${VAR}`` and its forms.

clusterctl fills a cluster template's ``${VAR}``, ``${VAR:=default}`` and ``${VAR/x/y}`` from
its variables before anything is applied (cluster-api ``cmd/clusterctl/client/yamlprocessor/
simple_processor.go``, drone/envsubst syntax), and Flux's ``postBuild.substitute`` does the
same for a Kustomization's build (fluxcd/pkg ``kustomize/kustomize_varsub.go``, which uses the
same envsubst parser). Such a value says nothing yet about the pattern, type or account it
will have: the checks judge what is written around it, never the placeholder itself.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\$\{[^{}\s]+\}")


def templated(value: Any) -> bool:
    """Whether ``value`` is a string that holds a ``${...}`` placeholder."""
    return value.__class__ is str and "${" in value and PLACEHOLDER.search(value) is not None
