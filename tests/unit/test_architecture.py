"""The layout docs/architecture.md describes: one import root, layers that
import one way, no import cycles, and a wheel whose only top-level package is capa_accounts."""

from __future__ import annotations

import ast
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from pysource import parsed

PROJECT = Path(__file__).resolve().parents[2]
# folder in the repository -> the package it installs as (pyproject.toml, package-dir)
FOLDERS = {
    "capa_accounts": "capa_accounts",
    "kustomize_plugin": "capa_accounts.kustomize_plugin",
    "hooks": "capa_accounts.hooks",
}
# Lower layers never import higher ones: core < kustomize_plugin < hooks < usecases < the cli.
# The importer (``import``'s work: it reads a tree with the loader and renders to compare)
# stands beside the use cases.
LAYERS = (
    ("capa_accounts.core", 0),
    ("capa_accounts.kustomize_plugin", 1),
    ("capa_accounts.hooks", 2),
    ("capa_accounts.usecases", 3),
    ("capa_accounts.importer", 3),
    ("capa_accounts", 4),
)
# The command line: the only modules that import click.
ROOF = ("capa_accounts.cli", "capa_accounts.entry")


def in_roof(module: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in ROOF)


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((PROJECT / folder).rglob("*.py")):
            parts = list(path.relative_to(PROJECT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


def layer(module: str) -> int:
    return next(
        rank for prefix, rank in LAYERS if module == prefix or module.startswith(prefix + ".")
    )


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every project module ``module`` imports, at the top or inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(m, p, set(mods)) for m, p in mods.items()}


def test_no_module_uses_the_old_top_level_names() -> None:
    for module, path in modules().items():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    assert name.split(".")[0] not in ("hooks", "kustomize_plugin"), (
                        f"{module} imports {name}: use capa_accounts.{name}"
                    )


def test_layers_import_one_way() -> None:
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in graph().items()
        for d in sorted(deps)
        if layer(d) > layer(m) and not (d == "capa_accounts" and m != d)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    edges = {m: {d for d in deps if d != "capa_accounts"} for m, deps in graph().items()}
    # Package __init__ modules are imported with their children; an edge to one is an edge to
    # code that runs, so it counts like any other.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _third_party(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_nothing_below_the_cli_imports_click() -> None:
    below = [m for m, p in modules().items() if not in_roof(m) and "click" in _third_party(p)]
    assert not below, below
    assert "click" in _third_party(modules()["capa_accounts.cli"])


def test_the_cli_reaches_the_work_through_the_use_cases() -> None:
    """The command line and the direct way (console.py, direct.py) parse, print and exit:
    check's judging (the engine, the stream, the lock, where the repository is and how paths
    are shown), render's transaction, init, import, add-account, graph, explain, rules and
    schema are the use cases' (the names of the report formats, the colours and the summary
    line aside)."""
    front = ("capa_accounts.cli", "capa_accounts.console", "capa_accounts.direct")
    roof = {m: d for m, d in graph().items() if m.startswith(front)}
    assert len(roof) > 3, roof  # the package: its commands and what they share; the direct way
    deps = {d for d in set().union(*roof.values()) if not d.startswith(front)}
    assert "capa_accounts.usecases" in deps
    assert {d for d in deps if d.startswith("capa_accounts.hooks")} <= {
        "capa_accounts.hooks.report",
        "capa_accounts.hooks.report.formats",
        "capa_accounts.hooks.report.common",
    }, deps
    for module in (
        "capa_accounts.core.lock",
        "capa_accounts.core.reporoot",
        "capa_accounts.core.filewrite",
        "capa_accounts.core.schema.published",
        "capa_accounts.importer",
        "capa_accounts.kustomize_plugin.example",
        "capa_accounts.kustomize_plugin.generated",
        "capa_accounts.kustomize_plugin.render",
        "capa_accounts.kustomize_plugin.accounts_edit",
        "capa_accounts.hooks.graph.draw",
        "capa_accounts.hooks.report.explain",
        "capa_accounts.hooks.report.catalogue",
    ):
        assert module not in deps, module


def test_render_transaction_is_spelled_out_once() -> None:
    """Only kustomize_plugin/transaction.py writes a render: removes a killed run's leftovers
    and applies the changes (CAPA-R001 plans and compares too, and writes nothing)."""
    calls = {"apply", "remove_leftovers"}
    found = []
    for module, path in modules().items():
        if module == "capa_accounts.kustomize_plugin.transaction":
            continue
        for node in ast.walk(parsed(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "generated"
                and node.func.attr in calls
            ):
                found.append(f"{module}:{node.lineno}: {ast.unparse(node.func)}")
    assert not found, "\n".join(found)


def test_what_render_would_change_is_decided_once() -> None:
    """Only kustomize_plugin/generated.py makes a Change (create, update, delete): render and
    CAPA-R001 share its verdicts, so a file render refuses is the file R001 reports."""
    found = [
        f"{module}:{node.lineno}"
        for module, path in modules().items()
        if module != "capa_accounts.kustomize_plugin.generated"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Change")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Change")
        )
    ]
    assert not found, found


def test_hooks_top_level_holds_only_the_pre_commit_entry_points() -> None:
    scripts = {"capa_accounts.hooks.build", "capa_accounts.hooks.scan_secrets"}
    top = {p.stem for p in (PROJECT / "hooks").glob("*.py")}
    assert top == {"__init__", "hookargs", *(s.rpartition(".")[2] for s in scripts)}
    pyproject = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    for script in scripts:
        assert f'"{script}:main"' in pyproject, script


def test_the_layer_test_sees_an_upward_import(tmp_path: Path) -> None:
    """Near miss of the two tests above: an upward import in a core module is found."""
    fake = tmp_path / "bad.py"
    fake.write_text("from capa_accounts.hooks.check import engine\n", encoding="utf-8")
    found = imports("capa_accounts.core.bad", fake, set(modules()))
    assert "capa_accounts.hooks.check.engine" in found
    assert layer("capa_accounts.hooks.check.engine") > layer("capa_accounts.core.bad")


@pytest.fixture
def wheel(built_wheel: Path) -> Path:
    return built_wheel


@pytest.mark.e2e  # slow: out of the fast lane
def test_wheel_has_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        top_level = archive.read(
            next(n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt"))
        ).decode()
        names = set(archive.namelist())
    assert {t for t in tops if not t.endswith(".dist-info")} == {"capa_accounts"}
    assert top_level.split() == ["capa_accounts"]
    # Every package of the checkout is in the wheel (pyproject.toml lists them one by one).
    missing = [
        module
        for module, path in modules().items()
        if path.name == "__init__.py" and module.replace(".", "/") + "/__init__.py" not in names
    ]
    assert not missing, missing


@pytest.mark.e2e  # slow: out of the fast lane
def test_wheel_installs_and_runs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    packages = {
        p.name
        for p in site.iterdir()
        if p.is_dir()
        and not p.name.endswith((".dist-info", "__pycache__"))
        and p.name not in ("pip", "setuptools", "_distutils_hack", "pkg_resources")
    }
    assert packages == {"capa_accounts"}
    # The dependencies come from this environment's site-packages (no index is reached).
    deps = sysconfig.get_paths()["purelib"]
    for script, args in (("capa-accounts", ["--help"]), ("capa-accounts-build", ["--help"])):
        ran = subprocess.run(
            [str(env_dir / "bin" / script), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PYTHONPATH": deps},
            cwd=tmp_path,
        )
        assert ran.returncode == 0, ran.stderr
    example = site / "capa_accounts" / "kustomize_plugin" / "example" / "base"
    assert (example / "kustomization.yaml").is_file()


# --- rules are pure -----------------------------------------------------------------------------

RULES_DIR = PROJECT / "hooks" / "rules"


# Methods that change the list, set or mapping they are called on.
_MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "remove"}
_MUTATORS |= {"clear", "discard", "popitem", "sort", "reverse"}


def _writes_shared_state(path: Path) -> list[str]:
    """Assignments in ``path`` to an attribute reached from the context (``ctx.x = ...``,
    ``ctx.loaded.plan = ...``, ``loaded.plan = ...``) or to the rule registry, and calls that
    change one in place (``ctx.loaded.warnings.append(...)``)."""
    found = []
    for node in ast.walk(parsed(path)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
        ):
            targets = [node.func.value]
        for target in targets:
            root = target
            while isinstance(root, ast.Attribute | ast.Subscript):
                root = root.value
            if (
                isinstance(root, ast.Name)
                and root.id in ("ctx", "loaded", "REGISTRY")
                and (target is not root)
            ):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(target)}")
    return found


def test_rules_never_write_the_context_or_the_registry() -> None:
    writes = [
        w
        for path in sorted(RULES_DIR.glob("*.py"))
        if path.name != "__init__.py"
        for w in _writes_shared_state(path)
    ]
    assert not writes, "\n".join(writes)


def test_the_purity_test_sees_a_write(tmp_path: Path) -> None:
    """Near miss of the test above: a rule that caches on the context is found."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def check_x(ctx, report):\n    ctx._cache = 1\n    ctx.loaded.plan = 2\n"
        "    ctx.loaded.warnings.append('w')\n    found = []\n    found.append(1)\n"
    )
    assert len(_writes_shared_state(bad)) == 3


def test_every_rule_has_a_scope_and_one_naming_convention() -> None:
    from capa_accounts.hooks.rules import all_rules

    rules = all_rules()
    assert rules
    for rule_id, found in rules.items():
        assert found.check.__name__.startswith("check_"), (rule_id, found.check.__name__)
        assert found.scope in ("objects", "files"), rule_id
    assert {r.scope for r in rules.values() if r.id.startswith("CAPA-S")} == {"files"}


# --- one diagnostic shape -----------------------------------------------------------------------


def _diagnostic_classes(path: Path) -> list[str]:
    """Classes in ``path`` that declare both a ``message`` and a ``severity`` field."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            fields = {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
            if {"message", "severity"} <= fields:
                found.append(f"{path.name}:{node.lineno}: {node.name}")
    return found


def test_findings_have_one_shape() -> None:
    """A rule's finding, a file check could not read and the KRM function's result are one
    ``core.finding.Finding``; the function's ``results`` entries are made from it (fn.to_krm)."""
    shapes = {c.rpartition(" ")[2] for p in modules().values() for c in _diagnostic_classes(p)}
    # management.Verdict is CAPA-T003's judgement of a target (its index and a path in its
    # stack) that the rule turns into a Finding: no diagnostic leaves the house in it.
    assert shapes == {"Finding", "Verdict"}, shapes


def test_the_shape_test_sees_a_second_shape(tmp_path: Path) -> None:
    """Near miss of the test above: a result class beside Finding is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("class Result:\n    message: str\n    severity: str = 'error'\n")
    assert _diagnostic_classes(bad) == ["bad.py:1: Result"]


# --- small modules --------------------------------------------------------------------------------

MAX_LINES = 450  # STYLE.md: split past 400; none may grow past this


def _too_long(paths: dict[str, Path], limit: int = MAX_LINES) -> list[str]:
    lengths = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in paths.items()}
    return [f"{m}: {n} lines" for m, n in sorted(lengths.items()) if n > limit]


def test_no_module_is_over_the_limit() -> None:
    too_long = _too_long(modules())
    assert not too_long, "\n".join(too_long)


def test_the_size_test_sees_a_long_module(tmp_path: Path) -> None:
    """Near miss of the test above: a module one line over the limit is named, one at it not."""
    at, over = tmp_path / "at.py", tmp_path / "over.py"
    at.write_text("x = 1\n" * MAX_LINES)
    over.write_text("x = 1\n" * (MAX_LINES + 1))
    assert _too_long({"at": at, "over": over}) == [f"over: {MAX_LINES + 1} lines"]


def test_each_report_format_has_its_own_module() -> None:
    """One module per ``check --format`` (``json_report`` for json, which would shadow the
    standard library's name), the registry importing each when it runs."""
    from capa_accounts.hooks.report.formats import FORMATS

    report = PROJECT / "hooks" / "report"
    for fmt in FORMATS:
        assert (report / f"{'json_report' if fmt == 'json' else fmt}.py").is_file(), fmt
    tree = ast.parse((report / "formats.py").read_text(encoding="utf-8"))

    def writers(nodes: list[ast.AST]) -> set[str]:
        return {
            alias.name
            for node in nodes
            if isinstance(node, ast.ImportFrom) and node.module == "capa_accounts.hooks.report"
            for alias in node.names
        }

    assert not writers(list(tree.body))  # nothing at import time: `--help` stays fast
    assert writers(list(ast.walk(tree))) == {
        "text",
        "json_report",
        "sarif",
        "github",
        "junit",
        "gitlab",
    }
