"""The use cases the command line runs, below it: each takes the repository root and plain
values, takes the repository's lock, and returns what to print; ``cli.py`` only parses
arguments, prints and chooses the exit code. Nothing here imports click: a message for the
user on the way (a warning before a long run) goes through the ``say`` callback."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from capa_accounts.core import lock, reporoot, version
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.finding import Finding

if TYPE_CHECKING:
    from capa_accounts.hooks.check.engine import Report
    from capa_accounts.kustomize_plugin.generated import Change

Say = Callable[[str], None]
# The other capa-accounts pre-commit hooks (``check --with-hooks``) and the findings each
# prints itself, which check then leaves to it.
HOOK_RULES = {"render": ("CAPA-R001",), "scan-secrets": ("CAPA-S001", "CAPA-S002", "CAPA-S003")}
# Formats whose readers (GitHub, GitLab) resolve paths against the top of the checkout.
_FROM_THE_TOP = ("sarif", "github", "gitlab")


# --- where the repository is, and how its paths are shown ---------------------------------


def locate(repo: Path | None) -> tuple[Path, Path | None]:
    """The repository root and the anchor that paths in output are relative to: ``repo`` as
    given, or found from the current directory up. The anchor is the directory the command
    started in when it found the root itself, the top of the git work tree for a ``repo``
    inside one (a monorepo folder), so that editors and GitHub annotations open the right
    file."""
    if repo is None:
        return reporoot.find_root(Path.cwd()), Path.cwd()
    if not repo.is_dir():
        raise CapaAccountsError("no such repository directory", str(repo))
    return repo, reporoot.git_top(repo.resolve())


def shown_error(err: CapaAccountsError, root: Path | None, anchor: Path | None) -> None:
    """``err``'s path made relative to ``anchor``, as findings are (a file in the repository
    only; an absolute path or one outside stays as it is)."""
    if root is None or anchor is None or not err.path or Path(err.path).is_absolute():
        return
    if (root / err.path).exists():
        err.path = reporoot.shown_from(root, anchor, err.path)


def _shifted(finding: Finding, root: Path, anchor: Path) -> Finding:
    related = tuple(
        r.replace(file=reporoot.shown_from(root, anchor, r.file)) for r in finding.related
    )
    return finding.replace(file=reporoot.shown_from(root, anchor, finding.file), related=related)


# --- check ----------------------------------------------------------------------------------


def check(
    repo: Path | None,
    *,
    stdin: BinaryIO | None = None,
    fmt: str = "text",
    base_ref: str | None = None,
    crds: Iterable[Path] = (),
    complete: bool = False,
    management_account: str | None = None,
    other_hooks: Iterable[str] = (),
) -> Report:
    """``check``: the report over the documents of ``stdin`` (``check -``) or over the
    repository ``repo`` (``locate``) under its shared lock, with paths as ``locate`` shows
    them and the findings the ``other_hooks`` print themselves left out. Every file that cannot
    be read is named in it, each in ``failures``, and the rest still judged.

    A failure of the whole check is raised for text (and whenever ``render`` is among the
    ``other_hooks``: it printed why); every other format gets a valid report that carries it,
    since CI reads the report, never an empty stdout."""
    other_hooks = set(other_hooks)
    root = anchor = None
    try:
        if stdin is not None:
            from capa_accounts.hooks.check import stream

            report = stream.check_text(
                stream.read(stdin),
                crds=tuple(crds),
                complete=complete,
                management_account=management_account,
            )
        else:
            root, anchor = locate(repo)
            report = _check_repository(root, anchor, fmt, base_ref, tuple(crds), management_account)
    except CapaAccountsError as err:
        for one in (err, *err.more):
            shown_error(one, root, anchor)
        if fmt == "text" or "render" in other_hooks:
            raise
        report = _failed(err)
    left = {rule for name in other_hooks for rule in HOOK_RULES[name]}
    report.findings = [f for f in report.findings if f.rule not in left]
    return report


def _check_repository(
    root: Path,
    anchor: Path | None,
    fmt: str,
    base_ref: str | None,
    crds: tuple[Path, ...],
    management_account: str | None,
) -> Report:
    from capa_accounts.hooks.check import engine

    with lock.locked(root, "check", shared=True):  # a render's state is read whole
        report = engine.check(
            root,
            base_ref=base_ref,
            crds=crds,
            keep_going=True,
            management_account=management_account,
        )
    for failure in report.failures:  # printed one a line, as every other failure is
        shown_error(failure, root, anchor)
    if fmt in _FROM_THE_TOP:
        # GitHub and GitLab resolve paths against the top of the checkout, wherever check ran.
        anchor = reporoot.git_top(root.resolve()) or anchor
    if anchor is not None:
        report.findings = [_shifted(f, root, anchor) for f in report.findings]
        report.input_errors = [_shifted(f, root, anchor) for f in report.input_errors]
    return report


def _failed(err: CapaAccountsError) -> Report:
    """The report of a check that could not run: valid in every format, carrying ``err``."""
    from capa_accounts.hooks.check import engine

    return engine.Report.failed([err])


def report_text(report: Report, fmt: str, *, strict: bool, color: bool) -> str:
    """The whole report in ``fmt``, as ``check`` writes it."""
    from capa_accounts.hooks.report import formats

    return formats.render(report, fmt, strict=strict, color=color)


def write_report(output: Path, text: str) -> None:
    """``-o FILE``: the report written atomically (old or new, never half)."""
    from capa_accounts.core import filewrite

    filewrite.atomic_write(output, text, str(output))


# --- the other commands ---------------------------------------------------------------------


def init(directory: Path, *, hooks: str) -> str:
    """``init``: the example repository written (and rendered) into ``directory``; what to
    print (the count, notes and the next steps)."""
    from capa_accounts.kustomize_plugin import example

    written = example.init(directory, hooks=hooks)
    notes = "".join(
        f"note: {note}" + ("" if note.endswith("\n") else "\n") for note in written.notes
    )
    return (
        f"wrote {written.count} files into {directory}\n"
        + notes
        + example.next_steps(directory, hooks)
    )


def import_tree(source: Path, destination: Path, management_account_id: str | None) -> str:
    """``import``: accounts.yaml and base/ written from a hand-written tree; what to print
    (each file created, each item render cannot reproduce, the next step)."""
    from capa_accounts import importer

    imported = importer.import_tree(source, management_account_id)
    lines = [f"create {rel}" for rel in importer.write(destination, imported)]
    lines += [f"not reproduced: {item}" for item in imported.items]
    lines.append(
        f"{len(imported.items)} item(s) not reproduced; next: capa-accounts render --repo "
        f"{destination}"
    )
    return "".join(f"{line}\n" for line in lines)


def render(repo: Path, *, check_only: bool, say: Say) -> list[Change]:
    """``render`` (``--check``: write nothing): the changes, as ``generated.Change``s."""
    from capa_accounts.core import model
    from capa_accounts.kustomize_plugin import transaction

    with lock.locked(repo, "render --check" if check_only else "render", shared=check_only):
        account_set = transaction.load(repo, check_only=check_only)
        for first, later in model.shared_account_ids(account_set):
            say(model.shared_id_warning(first, later))
        done = transaction.render(repo, account_set, check_only=check_only)
    for warning in done.plan.warnings:
        say(f"warning: {warning}")
    for line in _version_notes(done.todo, check_only):
        say(line)
    return done.todo


def _version_notes(todo: list[Change], check_only: bool) -> list[str]:
    """Files another capa-accounts version wrote: why they differ, named once per version."""
    from capa_accounts.kustomize_plugin import generated

    skew = sorted(generated.version_skew(todo).items())
    if check_only:
        return [f"{len(p)} file(s) {generated.skew_message(old)}" for old, p in skew]
    return [
        f"{len(p)} file(s) generated by {generated.author(old)} were rewritten by "
        f"capa-accounts {version.version()}: pin the pre-commit hooks (rev:) to the same version"
        for old, p in skew
    ]


def diff(todo: list[Change]) -> str:
    """What ``render --check`` found out of date, as a unified diff."""
    from capa_accounts.kustomize_plugin import generated

    return generated.diff(todo)


def add_account(
    repo: Path,
    name: str,
    *,
    account_id: str,
    region: str,
    kubernetes_version: str | None,
    namespace: str | None,
) -> list[str]:
    """``add-account``: accounts.yaml edited and rendered in one transaction; the lines to print."""
    from capa_accounts.kustomize_plugin import accounts_edit

    with lock.locked(repo, "add-account"):
        return accounts_edit.add_account(
            repo,
            name,
            account_id=account_id,
            region=region,
            kubernetes_version=kubernetes_version,
            namespace=namespace,
        )


def graph(
    repo: Path,
    fmt: str,
    *,
    accounts: tuple[str, ...],
    errors_only: bool,
    base_ref: str | None,
) -> str:
    """``graph``: the trust chain drawn in ``fmt`` (it runs check: the same consistent read)."""
    from capa_accounts.hooks.graph import draw

    with lock.locked(repo, "graph", shared=True):
        return draw.draw(repo, fmt, accounts=accounts, errors_only=errors_only, base_ref=base_ref)


def explain(rule_id: str) -> str:
    """``explain RULE``: the rule's page for a terminal."""
    from capa_accounts.hooks.report import explain as explaining

    return explaining.explain(rule_id)


def rules(fmt: str) -> str:
    """``rules``: the catalogue of every rule."""
    from capa_accounts.hooks.report import catalogue

    return catalogue.render(fmt)


def schema(kind: str) -> str:
    """``schema``: the JSON Schema of accounts.yaml (``accountset``, what render writes as
    accounts.schema.json) or of the function config (``account``)."""
    import json

    from capa_accounts.core.schema import published
    from capa_accounts.core.schema.accountset import ACCOUNT_CONFIG

    if kind == "accountset":
        return published.text()
    return json.dumps(published.strict(ACCOUNT_CONFIG), indent=2) + "\n"
