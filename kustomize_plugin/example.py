"""``init``: the built-in example repository (management 111111111111, staging, live)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from capa_accounts.core import filewrite, fluxsource, layout, lock, reporoot, version
from capa_accounts.core.errors import InputError
from capa_accounts.core.schema import published
from capa_accounts.kustomize_plugin import adopt, flux, generated, transaction, yamllint_config

SCHEMA_FILE = published.SCHEMA_FILE
GITIGNORE = ".gitignore"
HOOKS = ("remote", "local")
# What a command leaves in the work tree only while it runs (core.lock, core.filewrite): never
# to be committed, even by a `git add -A` during a render.
IGNORED = (lock.LOCK_FILE, filewrite.TMP_PATTERN)
_IGNORE_HEADER = "# capa-accounts: the repository's lock and the temporary files of a write"


def example_files(hooks: str = "remote") -> dict[str, str]:
    """The hand-edited files of the example: accounts.yaml, base/ and the pre-commit config."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    files = {
        "accounts.yaml": (root / "accounts.yaml").read_text(encoding="utf-8"),
        ".pre-commit-config.yaml": pre_commit_config(hooks=hooks),
        SCHEMA_FILE: schema_text(),
    }
    for entry in sorted((root / layout.BASE).iterdir(), key=lambda e: e.name):
        files[f"{layout.BASE}/{entry.name}"] = entry.read_text(encoding="utf-8")
    return files


def pre_commit_config(tag: str | None = None, hooks: str = "remote") -> str:
    """The pre-commit config ``init`` writes. ``remote``: this project's hooks pinned to ``tag``
    (default: what the running capa-accounts was installed from, ``version.hook_rev``, so that
    the hooks check as the tool that wrote the repository). ``local``: ``repo: local`` hooks
    that run the capa-accounts on PATH, with no network at all."""
    root = resources.files("capa_accounts.kustomize_plugin") / "example"
    if hooks == "local":
        return (root / "pre-commit-config-local.yaml").read_text(encoding="utf-8")
    text = (root / "pre-commit-config.yaml").read_text(encoding="utf-8")
    rev, note = version.hook_rev()
    if tag is not None:
        rev, note = tag, "the release of capa-accounts that wrote this repository"
    return text.replace("{release_tag}", rev).replace("{rev_note}", note)


def gitignore(existing: str = "") -> str | None:
    """``existing`` with the names of ``IGNORED`` it lacks appended; None when it has them."""
    have = {line.strip() for line in existing.splitlines()}
    missing = [name for name in IGNORED if name not in have]
    if not missing:
        return None
    head = existing if not existing or existing.endswith("\n") else existing + "\n"
    return head + "\n".join([_IGNORE_HEADER, *missing]) + "\n"


def _gitignore_of(directory: Path) -> str | None:
    """The .gitignore init writes: the repository's own with the names it lacks appended (the
    one file init changes rather than only adds), or a new one."""
    path = directory / GITIGNORE
    if path.is_symlink() or (os.path.lexists(path) and not path.is_file()):
        raise InputError("is not a regular file: init adds its names to it", GITIGNORE)
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read it: {err}", GITIGNORE) from err
    return gitignore(existing)


def schema_text() -> str:
    return published.text()


@dataclass
class Written:
    """What ``init`` did: how many files it wrote, and what the user still has to do."""

    count: int
    notes: list[str] = field(default_factory=list)


def init(directory: Path, hooks: str = "remote") -> Written:
    """Write the example into ``directory`` and render it.

    ``directory`` is new, empty, or the top of an existing git repository (it holds ``.git``).
    In a repository, no file is touched but those init writes, and init refuses (writing
    nothing) when a name it owns exists already (``accounts.yaml``, ``base/``, ``overlays/``,
    ...) or a Flux Kustomization it writes does, so no file of the example can be a symlink
    leading out of the repository or a hand-written file render would overwrite. Beside a
    `flux bootstrap` (``clusters/<name>/flux-system/``) the Kustomizations go into
    ``clusters/<name>/``; a ``.sourceignore`` of the user's own gets render's lines between
    markers; the pre-commit config goes to the top of the work tree, or is printed when one
    is there already (``adopt``).
    """
    _check_target(directory)
    top = reporoot.git_top(directory.resolve()) if directory.exists() else None
    top = top or reporoot.git_top(_existing_parent(directory))
    prefix = fluxsource.source_prefix(directory, top, None) if top else ""
    written = Written(0)
    accounts_text = _accounts_text(top, prefix, written.notes)
    files = rendered_example(prefix, accounts_text, hooks)
    config = files.pop(".pre-commit-config.yaml")
    flux_dir = fluxsource.parse(yaml.safe_load(accounts_text)["spec"]).path
    lint = _yamllint_config(directory, top, flux_dir, written.notes)
    if lint is not None:
        files[yamllint_config.CONFIG_FILE] = lint
    _refuse_taken(directory, files, flux_dir)
    sourceignore = directory / ".sourceignore"
    if sourceignore.is_file() and not sourceignore.is_symlink():
        current = sourceignore.read_text(encoding="utf-8")
        if not generated.is_generated(current):
            merged = flux.merged_sourceignore(current)
            if merged is None:
                raise InputError(
                    f"has {flux.SOURCEIGNORE_BEGIN!r} but no end marker", ".sourceignore"
                )
            files[".sourceignore"] = merged
    ignore = _gitignore_of(directory)
    if ignore is not None:
        files[GITIGNORE] = ignore
    writes = [(directory / rel, text, rel) for rel, text in files.items()]
    config_path = (top or directory) / adopt.PRE_COMMIT_CONFIG
    config = adopt.pre_commit_for_folder(config, prefix if top else "")
    if os.path.lexists(config_path):
        written.notes.append(
            f"{_shown(config_path)} exists and was left as it is: add to its repos:\n"
            + adopt.repos_entry(config)
        )
    else:
        writes.append((config_path, config, adopt.PRE_COMMIT_CONFIG))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(
            f"cannot create the directory: {err.strerror or err}", str(directory)
        ) from err
    filewrite.write_all(writes)
    written.count = len(writes)
    return written


def _yamllint_config(
    directory: Path, top: Path | None, flux_dir: str, notes: list[str]
) -> str | None:
    """The .yamllint.yaml init writes, or None and a note when yamllint would read a
    configuration of the repository's own there."""
    start = directory if directory.exists() else _existing_parent(directory)
    found = yamllint_config.existing(start, top) if top or directory.exists() else None
    if found is None:
        return yamllint_config.config_text(flux_dir)
    notes.append(yamllint_config.note(_shown(found), flux_dir))
    return None


def _shown(path: Path) -> str:
    return os.path.relpath(path.resolve(), Path.cwd().resolve())


def _existing_parent(directory: Path) -> Path:
    path = directory.resolve()
    while not path.exists():
        path = path.parent
    return path


def _check_target(directory: Path) -> None:
    try:
        existing = directory.exists()
        if existing and not directory.is_dir():
            raise InputError("exists and is not a directory", str(directory))
        if existing and any(directory.iterdir()) and not os.path.lexists(directory / ".git"):
            raise InputError(
                "exists, is not empty and is not the top of a git repository: init "
                "writes into a new or empty directory, or beside .git",
                str(directory),
            )
    except OSError as err:
        raise InputError(
            f"cannot read the directory: {err.strerror or err}", str(directory)
        ) from err


def _accounts_text(top: Path | None, prefix: str, notes: list[str]) -> str:
    """The example's accounts.yaml, with spec.flux when a `flux bootstrap` is in the work tree:
    its directory when it is inside the folder, else a note on how Flux reaches the folder."""
    text = example_files()["accounts.yaml"]
    found = adopt.bootstraps(top) if top else []
    inside = [
        (b, rel)
        for b in found
        for rel in [fluxsource.repo_relative(prefix, b.path)]
        if rel not in (None, ".") and rel.split("/", 1)[0] not in fluxsource.RESERVED_TOPS
    ]
    if len(inside) == 1:
        bootstrap, rel = inside[0]
        return text.replace(
            "  accounts:\n", adopt.flux_block(bootstrap, str(rel)) + "  accounts:\n", 1
        )
    if len(inside) > 1:
        notes.append(
            "several clusters were bootstrapped here ("
            + ", ".join(b.path for b, _rel in inside)
            + "): the Flux Kustomizations went to clusters/management; set spec.flux.path "
            "in accounts.yaml to the management cluster's and run `capa-accounts render`"
        )
    elif found:
        notes.append(adopt.kustomization_hint(found[0], prefix, fluxsource.DEFAULT_PATH))
    return text


def _refuse_taken(directory: Path, files: dict[str, str], flux_dir: str) -> None:
    """Refuse, writing nothing, when a name init owns exists: a top-level name of its own, or
    a Flux Kustomization it writes; never a write through a symlinked directory."""
    taken: set[str] = set()
    for rel in files:
        if rel == ".sourceignore":
            continue
        if rel.startswith(flux_dir + "/"):
            parts = rel.split("/")
            for i in range(1, len(parts) + 1):
                path = directory.joinpath(*parts[:i])
                if path.is_symlink() or (i < len(parts) and path.exists() and not path.is_dir()):
                    taken.add("/".join(parts[:i]))
            if os.path.lexists(directory / rel):
                taken.add(rel)
        elif os.path.lexists(directory / rel.split("/", 1)[0]):
            taken.add(rel.split("/", 1)[0])
    if (directory / ".sourceignore").is_symlink():
        taken.add(".sourceignore")
    if taken:
        names = sorted(taken)
        raise InputError(
            f"{', '.join(names)} already exist{'s' if len(names) == 1 else ''}: "
            "init writes only files that are not there, and nothing was written",
            str(directory),
        )


def rendered_example(
    prefix: str = "", accounts_text: str | None = None, hooks: str = "remote"
) -> dict[str, str]:
    """Every file of the example repository, hand-edited and rendered, in write order (listed
    files before the kustomizations that list them), made in a scratch directory at
    ``prefix`` below a scratch work tree (Flux paths start at its top)."""
    with tempfile.TemporaryDirectory(prefix="capa-accounts-init-") as scratch:
        repo = Path(scratch).joinpath(*prefix.split("/")) if prefix else Path(scratch)
        if prefix:
            (Path(scratch) / ".git").mkdir()
        files = example_files(hooks)
        if accounts_text is not None:
            files["accounts.yaml"] = accounts_text
        filewrite.write_all((repo / rel, text, rel) for rel, text in files.items())
        todo = transaction.render(repo).todo
        rendered = {
            c.path: (repo / c.path).read_text(encoding="utf-8")
            for c in todo
            if c.action != "delete"
        }
    return dict(
        sorted({**files, **rendered}.items(), key=lambda kv: kv[0].endswith("kustomization.yaml"))
    )


def next_steps(directory: Path, hooks: str) -> str:
    """What to do after ``init``, as it prints them."""
    cd = "" if directory == Path(".") else f"  cd {directory}\n"
    where = (
        "repo: local hooks run the capa-accounts on PATH (no network)"
        if hooks == "local"
        else "the hooks come from the pinned rev (pre-commit fetches it once)"
    )
    return (
        "next steps:\n"
        f"{cd}"
        "  $EDITOR accounts.yaml              # your management and target accounts\n"
        "  capa-accounts render && capa-accounts check\n"
        f"  pip install pre-commit && pre-commit install   # {where}\n"
        '  git add -A && git commit -m "capa-accounts"\n'
    )
