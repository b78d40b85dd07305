"""The check-jsonschema comparison: the same rendered documents, validated by another tool.

check-jsonschema validates one document per file against one schema per invocation, so the
rendered documents are split into one file each and grouped by ``(apiVersion, kind)``; each
group is checked against a JSON Schema made from the project's own structural schema
(``capa_accounts.core.schema.registry.schemas()``). The conversion keeps the meaning the
project's validator gives the Kubernetes dialect (kubernetes apiextensions ``JSONSchemaProps``):
``nullable`` adds ``null`` to the types, ``x-kubernetes-int-or-string`` is integer or string,
an object with ``properties`` and no ``additionalProperties`` is closed (the API server prunes
or, under strict field validation, rejects unknown fields), and ``oneOf`` is read as ``anyOf``
as the project's validator reads it. check-jsonschema is not a project dependency: install it
into the virtualenv to run this comparison.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from capa_accounts.core.schema.registry import schemas

Key = tuple[str, str]
_SKIP_DIRS = {".git", ".venv", "__pycache__"}
_EMBEDDED = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (2020-12) with the meaning the project's validator gives ``schema``."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties",) and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out["anyOf" if key == "oneOf" else key] = [to_json_schema(s) for s in value]
        elif not key.startswith("x-kubernetes-") and key != "nullable":
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if schema.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    if schema.get("x-kubernetes-embedded-resource"):
        out["properties"] = {**_EMBEDDED, **out.get("properties", {})}
    closed = (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    )
    if closed:
        out["additionalProperties"] = False
    return out


@dataclass
class Comparison:
    documents: int = 0
    kinds: int = 0
    seconds: float = 0.0
    failed_kinds: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def executable() -> str | None:
    """check-jsonschema beside this interpreter (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "check-jsonschema"
    return str(beside) if beside.is_file() else shutil.which("check-jsonschema")


def split_documents(repo: Path, out: Path) -> dict[Key, list[Path]]:
    """Every document of the repository that has a built-in schema, one file each, by kind."""
    known = schemas()
    groups: dict[Key, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith((".yaml", ".yml")) or name.startswith("kustomization."):
                continue
            with open(Path(dirpath) / name, encoding="utf-8") as handle:
                docs = list(yaml.load_all(handle, Loader=yaml.CSafeLoader))
            for doc in docs:
                if not isinstance(doc, dict):
                    continue
                key = (str(doc.get("apiVersion")), str(doc.get("kind")))
                if key not in known:
                    continue
                files = groups.setdefault(key, [])
                target = out / _slug(key) / f"{len(files):05d}.yaml"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8"
                )
                files.append(target)
    return groups


def _slug(key: Key) -> str:
    return f"{key[1]}.{key[0]}".replace("/", "_")


def compare(repo: Path, workdir: Path) -> Comparison:
    """Time check-jsonschema over the repository's documents, one invocation per kind."""
    tool = executable()
    if tool is None:
        return Comparison(
            note="check-jsonschema is not installed (it is not a project "
            "dependency): `pip install -e '.[bench]'` into the virtualenv "
            "to run this comparison"
        )
    if workdir.exists():
        shutil.rmtree(workdir)
    groups = split_documents(repo, workdir / "documents")
    result = Comparison(kinds=len(groups))
    known = schemas()
    for key, files in sorted(groups.items()):
        schema_file = workdir / f"{_slug(key)}.schema.json"
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **to_json_schema(known[key]),
        }
        schema_file.write_text(json.dumps(schema), encoding="utf-8")
        argv = [
            tool,
            "--regex-variant",
            "python",
            "--schemafile",
            str(schema_file),
            *map(str, files),
        ]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        result.seconds += time.perf_counter() - start
        result.documents += len(files)
        if proc.returncode != 0:
            result.failed_kinds.append(f"{key[1]} ({key[0]})")
    if result.failed_kinds:
        result.note = (
            "check-jsonschema reported failures for "
            + ", ".join(result.failed_kinds)
            + ": the JSON Schema conversion differs from the project's validator there"
        )
    return result
