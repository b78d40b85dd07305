"""The value classes written out without ``dataclasses`` (capa_accounts/core/record.py) behave
as the dataclasses they replace, frozen or not; the KRM function's process never imports
``dataclasses`` (nor ``inspect``, which it brings), and ``check``'s does not either."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.finding import Finding, Location, ResourceRef
from capa_accounts.core.model import Account, AccountSet, Management
from capa_accounts.core.record import Mutable
from capa_accounts.core.resources import ResourceId
from capa_accounts.core.yamlio import Document
from capa_accounts.hooks.check.engine import Report
from capa_accounts.hooks.check.loaded import Loaded, Source
from capa_accounts.kustomize_plugin.plan import Plan


def _account(**changes: object) -> Account:
    account = Account("live", "123456789012", "eu-west-1", "1.30", "live", "live-identity")
    return account.replace(**changes)


def test_equality_hash_and_repr_follow_the_fields() -> None:
    assert _account() == _account() and hash(_account()) == hash(_account())
    assert _account() != _account(region="us-east-1")
    assert len({_account(), _account(), _account(index=1)}) == 2
    assert repr(Location("a.yaml", 2, 3)) == "Location(file='a.yaml', line=2, column=3)"
    assert Location("a.yaml") != ("a.yaml", 1, 1)  # a value of its class only


def test_values_are_frozen() -> None:
    account = _account()
    with pytest.raises(AttributeError, match="frozen"):
        account.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del account.name  # type: ignore[misc]


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    finding = Finding("CAPA-C001", "error", "a.yaml", 1, 1, "m")
    warned = finding.replace(severity="warning")
    assert (warned.severity, warned.rule, finding.severity) == ("warning", "CAPA-C001", "error")
    with pytest.raises(TypeError, match="no field 'severty'"):
        finding.replace(severty="warning")


def test_fields_left_out_of_comparison() -> None:
    """The text a document shares with its file, and accounts.yaml's parsed document, are not
    part of the value, as with ``field(compare=False)``."""
    assert Document("a.yaml", 0, None, {}, "x") == Document("a.yaml", 0, None, {}, "y")  # type: ignore[arg-type]
    one = AccountSet("s", "aws", Management("123456789012"), "roleIdentity", ())
    other = one.replace(document=Document("accounts.yaml", 0, None, {}))  # type: ignore[arg-type]
    assert one == other and "document" not in repr(other)


def test_ordered_values_sort_by_their_fields_in_order() -> None:
    ids = [
        ResourceId("g", "K", "b", "x"),
        ResourceId("g", "K", "a", "y"),
        ResourceId("", "K", "", "z"),
    ]
    assert [i.name for i in sorted(ids)] == ["z", "y", "x"]
    assert ResourceRef("v1", "A") < ResourceRef("v1", "B")
    with pytest.raises(TypeError):
        _ = ResourceRef("v1", "A") < ResourceId("", "A", "", "")  # type: ignore[operator]


def test_what_a_finding_says_is_escaped_once() -> None:
    finding = Finding("CAPA-C001", "error", "a\x07.yaml", 1, 1, "bad\x1b[31m")
    assert finding.file.isprintable() and finding.message.isprintable()
    assert finding.replace(line=2).message == finding.message


class _Tally(Mutable):
    """As ``@dataclass`` with ``items: list[str] = field(default_factory=list)`` and
    ``note: str = field(default="", compare=False, repr=False)``."""

    FIELDS = ("name", "items", "note")
    COMPARED = ("name", "items")
    SHOWN = ("name", "items")
    name: str
    items: list[str]
    note: str

    def __init__(self, name: str, items: list[str] | None = None, note: str = "") -> None:
        self.name = name
        self.items = [] if items is None else items
        self.note = note


def test_mutable_values_change_in_place_and_are_not_hashable() -> None:
    one, other = _Tally("a"), _Tally("a")
    assert one == other and one.items is not other.items  # a list of its own each
    one.items.append("x")
    one.name = "b"
    assert one != other and (one.name, one.items) == ("b", ["x"])
    assert _Tally("a", note="n") == _Tally("a") and one != ("b", ["x"])
    with pytest.raises(TypeError, match="unhashable"):
        hash(one)
    assert repr(one) == "_Tally(name='b', items=['x'])"
    copy = one.replace(name="c")
    assert (copy.name, copy.items, one.name) == ("c", ["x"], "b")
    with pytest.raises(TypeError, match="no field 'nme'"):
        one.replace(nme="c")


def test_what_check_builds_up_in_place_has_lists_of_its_own() -> None:
    one, other = Loaded(Path("r"), None), Loaded(Path("r"), None)
    assert one == other and one.source_root == Path() and one.documents is not other.documents
    one.documents.append((Document("a.yaml", 0, None, {}), Source("overlays/live")))  # type: ignore[arg-type]
    assert one != other and other.documents == []
    with pytest.raises(TypeError, match="unhashable"):
        hash(one)
    assert Plan(seen=object()) == Plan() and "seen" not in repr(Plan())  # type: ignore[arg-type]
    assert Source("o") == Source("o", True, None) and Source("o").replace(flux="f").flux == "f"


def test_a_failed_report_keeps_every_other_field() -> None:
    report = Report([], suppressed=1, files=3, warnings_loading=["w"], kustomize="k", kept=2)
    failed = Report.failed([CapaAccountsError("bad", "a.yaml", 2)], report)
    assert (failed.suppressed, failed.files, failed.kustomize, failed.kept) == (1, 3, "k", 2)
    assert [f.line for f in failed.input_errors] == [2] and failed.findings == failed.input_errors
    shown = failed.without_input_errors()
    assert (shown.findings, shown.failures, shown.warnings_loading) == ([], [], ["w"])
    assert report.input_errors == [] and Report([]) == Report([], 0, 0, [], [], [], None, 0)


def test_the_krm_function_imports_no_dataclasses() -> None:
    """kustomize starts the function once per build: ``dataclasses`` and ``inspect`` cost it
    20 ms of its start on CPython 3.11 (benchmarks/bench.py, "fn cold start")."""
    code = (
        "import sys, capa_accounts.kustomize_plugin.fn; "
        "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_check_imports_no_dataclasses(example_repo: Path) -> None:
    """``check`` is a process of its own for every commit (the pre-commit hook) and CI job:
    on its way, from the command line to the text report, no class is a dataclass. (click
    imports ``inspect``: only ``dataclasses`` is the project's to leave out.) The second run
    takes the verdicts the first kept with render's plan, which a fleet of ``MIN_ACCOUNTS``
    accounts keeps: this example is made one for the purpose."""
    code = (
        "import atexit, os, sys\n"
        "from capa_accounts.entry import main\n"
        "from capa_accounts.kustomize_plugin import plan_cache\n"
        "plan_cache.MIN_ACCOUNTS = 0\n"
        "sys.argv = ['capa-accounts', 'check', '--repo', sys.argv[1]]\n"
        # main() ends the process with os._exit once the exit handlers have run
        "atexit.register(lambda: os.write(2, f'dataclasses: {\"dataclasses\" in sys.modules}'"
        ".encode()))\n"
        "main()\n"
    )
    for run in ("first", "kept"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(example_repo)], capture_output=True, text=True
        )
        assert done.returncode == 0, (run, done.stdout, done.stderr)
        assert done.stderr.startswith("0 errors, 0 warnings in "), (run, done.stderr)
        assert (run == "kept") == ("verdict was kept" in done.stderr), (run, done.stderr)
        assert done.stderr.endswith("dataclasses: False"), (run, done.stderr)
