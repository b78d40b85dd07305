"""The one repository loader: what Flux would apply, read from a file source.

``check`` reads the working tree (``hooks/check/repository.py``, ``WorkTreeSource``) and, with
``--base REF``, a git commit (``hooks/git/base.py``, ``RefSource``). Both are walked here, by
the same rules: every kustomization directory is built (a resources-only kustomization
in-process, any other with a real kustomize once ``capa_accounts.core.confinement`` proves it
confined, in a copy of the source's files), a YAML file that no kustomization directory at or
above it holds is a loose file, and a directory another kustomization includes is judged as
part of that one. What differs is the source's: where the files come from, and what a problem
becomes (the working tree's are findings or errors, REF's are warnings).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Protocol

import yaml

from capa_accounts.core import layout, yamlio
from capa_accounts.core.confinement import unproven
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import (
    KUSTOMIZATION_FILES,
    Built,
    Files,
    MissingResourceError,
    NeedsKustomize,
    OutsideRepositoryError,
    TooDeepError,
    evaluate,
)
from capa_accounts.core.model import ACCOUNTS_FILE
from capa_accounts.hooks.check import kustomize, refusals
from capa_accounts.hooks.check.loaded import YAML_SUFFIXES, Loaded, Source

RULE = "CAPA-R007"  # kustomize, and so Flux, cannot build it
OUTSIDE = "CAPA-R008"  # a path leaves the repository, or cannot be proven inside
TEMPLATES = layout.BASE  # with accounts.yaml: templates render writes into overlays, never applied


class FileSource(Files, Protocol):
    """A repository's files (``kustomization.Files``) and the policy of one kind of tree."""

    loaded: Loaded

    def walk(self) -> list[str]:
        """Every file, exclusions applied (``loaded.account_set`` read first: it holds them)."""

    def report(self, finding: Finding) -> None:
        """A problem met while loading: a finding (work tree) or a warning (REF)."""

    def unreadable(self, err: InputError) -> None:
        """A kustomization that does not read: exit 2 (work tree) or a warning (REF)."""

    def rendered(self, kdir: str) -> Built | None:
        """The kustomization of ``kdir`` as render wrote it, without parsing it again."""

    def loose(self, rel: str) -> list[yamlio.Document]:
        """The documents of a file no kustomization lists."""

    def without_kustomize(self, kdir: str, need: NeedsKustomize) -> None:
        """No kustomize on PATH for a kustomization that needs one."""

    def copy(self) -> Path:
        """A directory holding only the source's files (no ``.git``), for kustomize."""

    def finish(self, listed: set[str], referenced: set[str]) -> None:
        """What the source adds once every kustomization directory is read."""

    def follow(self) -> None:
        """What the repository's Flux Kustomizations apply, once everything is read
        (``fluxapply.follow``)."""

    def included(self, kdir: str) -> list[str]:
        """The kustomization directories a kustomize-built ``kdir`` includes."""


def load(source: FileSource) -> Loaded:
    loaded = source.loaded
    files = loaded.files = source.walk()
    loaded.yaml_files = [f for f in files if f.endswith(YAML_SUFFIXES)]
    kfiles = [f for f in files if posixpath.basename(f) in KUSTOMIZATION_FILES]
    kdirs = sorted({posixpath.dirname(f) or "." for f in kfiles})
    for finding in refusals.several_kustomizations(kfiles):
        source.report(finding)
    loaded.kustomization_dirs = kdirs
    listed: set[str] = set()
    referenced: set[str] = set()
    plain: set[str] = set()  # directories whose kustomization was evaluated in-process
    for kdir in kdirs:
        if kdir == TEMPLATES and loaded.account_set is not None:
            template_files = listed_files(source, kdir)
            listed.update(template_files)
            if template_files:
                plain.add(kdir)
            continue
        if load_kustomization(source, kdir, listed, referenced):
            plain.add(kdir)
    loaded.unlisted = _unlisted(source, kfiles, plain, listed)
    under = KustomizationDirs(kdirs)
    for rel in loaded.yaml_files:
        if rel in listed or rel == ACCOUNTS_FILE or under.holds(rel):
            continue
        docs = loaded.loose[rel] = source.loose(rel)
        loaded.documents.extend((doc, Source(None, built=False)) for doc in docs)
    source.finish(listed, referenced)
    # Directories whose kustomization another one includes are judged as part of that one.
    loaded.documents = [
        (d, s) for d, s in loaded.documents if s.overlay is None or s.overlay not in referenced
    ]
    source.follow()
    return loaded


def listed_files(files: Files, kdir: str) -> list[str]:
    try:
        return evaluate(files, kdir).files
    except InputError:  # NeedsKustomize included: templates are not built
        return []


class KustomizationDirs:
    """Whether a kustomization directory is at or above a file: one set lookup per ancestor,
    not one comparison per directory (a fleet has one overlay per account)."""

    def __init__(self, kdirs: list[str]) -> None:
        self.dirs = set(kdirs)

    def holds(self, rel: str) -> bool:
        if "." in self.dirs:
            return True
        parent = posixpath.dirname(rel)
        while parent:
            if parent in self.dirs:
                return True
            parent = posixpath.dirname(parent)
        return False


def _at(err: InputError, kdir: str, message: str, rule: str = RULE) -> Finding:
    return Finding(rule, "error", err.path or kdir, err.line or 1, err.column or 1, message)


def _unlisted(
    source: FileSource, kfiles: list[str], plain: set[str], listed: set[str]
) -> list[str]:
    """YAML files in a directory whose resources-only kustomization does not list them, and
    that no kustomization of the repository names (a patch or generator file of another)."""
    loaded = source.loaded
    candidates = [
        rel
        for rel in loaded.yaml_files
        if rel not in listed
        and (posixpath.dirname(rel) or ".") in plain
        and posixpath.basename(rel) not in KUSTOMIZATION_FILES
    ]
    if not candidates:
        return []
    texts = []
    for kfile in kfiles:
        text = loaded.texts.get(kfile)
        if text is None:
            try:
                docs = source.documents(kfile)
            except InputError:
                continue
            text = getattr(docs[0], "text", "") if docs else ""
        texts.append(text)
    return [rel for rel in candidates if not any(posixpath.basename(rel) in t for t in texts)]


def load_kustomization(
    source: FileSource, kdir: str, listed: set[str], referenced: set[str]
) -> bool:
    """Load one kustomization directory's objects; True when evaluated in-process."""
    loaded = source.loaded
    try:
        built = source.rendered(kdir) or evaluate(source, kdir)
    except OutsideRepositoryError as err:
        source.report(
            _at(err, kdir, f"{err.message}: Flux builds only inside its source; not read", OUTSIDE)
        )
        return False
    except MissingResourceError as err:
        # kustomize, and so Flux, fails this build (a render killed between a new overlay's
        # kustomization.yaml and the files it lists leaves this): a finding, not bad input.
        source.report(_at(err, kdir, err.message))
        return False
    except NeedsKustomize as need:
        if with_kustomize(source, kdir, need):
            referenced.update(source.included(kdir))
        return False
    except InputError as err:
        # A chain too deep fails at every kustomization along it: named once, at the first.
        if not (
            isinstance(err, TooDeepError)
            and any(isinstance(e, TooDeepError) for e in loaded.input_errors)
        ):
            source.unreadable(err)
        # Nothing is said about what the kustomization holds; the rest is still judged.
        skipped = {f for f in loaded.yaml_files if posixpath.dirname(f) == kdir}
        listed.update(skipped)
        loaded.unread.update(skipped | {err.path or kdir})
        return False
    # Render's own overlay, judged with the plan, is not judged again (check/verified.py); nor
    # what the working tree built and judged, lent to REF unchanged (git/base.py).
    shared = getattr(source, "shared", None)
    judged = (shared is not None and shared.built.get(kdir) is built) or all(
        f in loaded.verified for f in built.files
    )
    refused = [] if judged else refusals.refused_by_kustomize(built.documents)
    if refused:
        for finding in refused:
            source.report(finding)
        return False
    listed.update(built.files)
    loaded.keep_texts(built.documents)
    loaded.built[kdir] = built
    for rel in built.files:
        sub = posixpath.dirname(rel) or "."
        if sub != kdir and posixpath.basename(rel) in KUSTOMIZATION_FILES:
            referenced.add(sub)
    loaded.documents.extend((doc, Source(kdir)) for doc in built.documents)
    return True


def with_kustomize(source: FileSource, kdir: str, need: NeedsKustomize) -> bool:
    """Build with a plain kustomize, in a copy of the source's files, once every field and
    path of the kustomization is proven confined; else R008 and nothing is built. True when
    its documents were judged as built."""
    try:
        found = unproven(source, kdir)
    except InputError as err:  # a config file it names is no YAML
        source.unreadable(err)
        return False
    for finding in found:
        source.report(finding)
    if found:
        return False
    command = kustomize.command()
    if command is None:
        source.without_kustomize(kdir, need)
        return False
    import subprocess  # here: most checks run no kustomize

    kfile = need.file
    copy = source.copy()
    try:
        result = kustomize.run(command, copy / kdir, copy, confine=copy)
    except subprocess.TimeoutExpired as err:  # its words would name the wrapper and the copy
        said = f"kustomize ran out of time ({err.timeout:g} s); not built"
        source.report(Finding(RULE, "error", kfile, 1, 1, said))
        return False
    except (OSError, kustomize.BudgetSpent, kustomize.OutputTooLarge) as err:
        said = _relative(str(err), copy)
        source.report(
            Finding(RULE, "error", kfile, 1, 1, f"kustomize could not run: {said}; not built")
        )
        return False
    if result.returncode != 0:
        said = " ".join(_relative(result.stderr, copy).split())
        message = said[:300] or "kustomize build failed"
        source.report(
            Finding(
                RULE,
                "error",
                kfile,
                1,
                1,
                f"plain kustomize build fails (as Flux's would): {message}",
            )
        )
        return False
    try:
        docs = yamlio.documents_from_text(result.stdout, kfile)
    except InputError as err:
        source.report(Finding(RULE, "error", kfile, 1, 1, f"kustomize's output: {err.message}"))
        return False
    for doc in docs:
        _at_first_line(doc.node)
        source.loaded.documents.append((doc, Source(kdir)))
    return True


def _relative(text: str, copy: Path) -> str:
    """kustomize's words with the copy's temporary path left out: repository paths."""
    for where in {str(copy), str(copy.resolve())}:
        text = text.replace(f"{where}/", "").replace(where, ".")
    return text


_FIRST = yaml.Mark("", 0, 0, 0, None, None)


def _at_first_line(root: yaml.Node) -> None:
    """A built object has no line of its own in the kustomization: its findings point at
    line 1 of the kustomization file, never at a line of kustomize's output."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node.start_mark = node.end_mark = _FIRST
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
