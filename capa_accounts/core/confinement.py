"""What ``check`` must prove of a kustomization before a real kustomize builds it: an allow-list.

A kustomization (and every kustomization it includes, and every builtin generator or
transformer config it names) is built only when each of its fields and entries is one this
module fully understands, with the exact key name and the exact type, and every path in it
is proven inside the repository's files. Anything else is ``CAPA-R008`` with ``NOT_CONFINED``:
recognising bad shapes one by one misses the next one, while kustomize reads more than it
seems to:

- it unmarshals kustomizations and builtin configs through sigs.k8s.io/yaml into Go structs
  with encoding/json, which matches keys in any letter case (``Files:`` is ``files:``);
- it tries every ``generators``/``transformers``/``validators`` entry as inline YAML first and
  only then as a path, which may be a directory whose kustomization outputs the configs
  (api/internal/target/kusttarget.go, ``configureExternalGenerators``);
- it joins a relative path to the kustomization's directory and cleans it lexically
  (api/loader/fileloader.go, ``Load``; Go's ``filepath.Join``) before the OS follows symlinks;
- it fetches an http(s) path (api/loader/fileloader.go) and clones a resources/components
  entry that is no local directory but parses as a git repository
  (api/internal/git/repospec.go).

Field names and types are in ``kustomize_fields``. Flux builds inside a filesystem confined to
the artifact root (fluxcd/pkg kustomize/filesys/fs_secure.go at 0ec014b, ``MakeFsOnDiskSecure``:
every path it opens, symlinks evaluated, must be in or below the root), from an artifact that
holds no ``.git``: ``.git`` is never inside.
"""

from __future__ import annotations

from typing import Any

import yaml

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding
from capa_accounts.core.kustomization import MAX_DEPTH, Files, OutsideRepositoryError
from capa_accounts.core.kustomize_fields import BUILTINS, KUSTOMIZATION, TYPE_NAMES, Paths

RULE = "CAPA-R008"  # a path leaves the repository, or cannot be proven inside
PLUGIN_RULE = "CAPA-R002"  # an exec or container KRM function: Flux runs none
# The one wording of a kustomization that is not built because it cannot be proven confined.
NOT_CONFINED = "not built: cannot be proven confined to the repository"
HELM = "runs helm, which fetches charts (Flux's kustomize-controller inflates none)"
PLUGIN = (
    "uses an exec/container KRM function: Flux's kustomize-controller runs no plugins "
    "and fails this build (render the overlay instead)"
)
HELM_FIELDS = ("helmCharts", "helmChartInflationGenerator", "helmGlobals")
REMOTE = "is remote (check never fetches; Flux fetches sources with its own source controller)"
FUNCTION_ANNOTATIONS = ("config.kubernetes.io/function", "config.k8s.io/function")
PathT = tuple[str | int, ...]


# --- the proof ----------------------------------------------------------------------------------


class _Proof:
    """One walk over a kustomization and everything it names; ``found`` collects what is
    unproven, each at the place of the kustomization (or config file) that holds it."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self.found: list[Finding] = []
        self.seen: set[str] = set()

    def refuse(
        self, file: str, node: yaml.Node | None, at: PathT, message: str, rule: str = RULE
    ) -> None:
        line, column = yamlio.position(node, at) if node is not None else (1, 1)
        self.found.append(Finding(rule, "error", file, line, column, message))

    def kustomization(self, directory: str, depth: int = 0) -> None:
        if directory in self.seen:
            return
        self.seen.add(directory)
        try:
            name = self.files.kustomization(directory)
        except InputError as err:  # the kustomization file itself is a symlink out
            self.refuse(err.path or directory, None, (), f"{err.message}: {NOT_CONFINED}")
            return
        if name is None:
            return  # kustomize fails on a directory without one, reading nothing in it
        if depth > MAX_DEPTH:
            self.refuse(
                name, None, (), f"kustomizations nest over {MAX_DEPTH} deep: {NOT_CONFINED}"
            )
            return
        docs = self.documents(name, name, None, ())
        if docs is None:
            return
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            self.refuse(name, None, (), f"a kustomization must be one mapping: {NOT_CONFINED}")
            return
        _Walk(self, name, directory, docs[0].node, depth).value(docs[0].data, KUSTOMIZATION, ())

    def documents(
        self, rel: str, file: str, node: yaml.Node | None, at: PathT
    ) -> list[yamlio.Document] | None:
        return self.files.documents(rel)  # an InputError (bad YAML) is the caller's


class _Walk:
    """The fields of one mapping document (a kustomization or a builtin config)."""

    def __init__(
        self,
        proof: _Proof,
        file: str,
        directory: str,
        node: yaml.Node,
        depth: int,
        prefix: str = "",
    ) -> None:
        self.prefix = prefix  # names the config file whose fields are walked, if any
        self.proof, self.file, self.directory, self.node, self.depth = (
            proof,
            file,
            directory,
            node,
            depth,
        )

    def refuse(self, at: PathT, message: str, rule: str = RULE) -> None:
        self.proof.refuse(self.file, self.node, at, self.prefix + message, rule)

    def value(self, data: Any, spec: Any, at: PathT) -> None:
        if isinstance(spec, Paths):
            self.path(data, spec.kind, at)
        elif isinstance(spec, type):
            # bool is an int in Python: an integer field takes no true/false
            if not isinstance(data, spec) or (spec is int and isinstance(data, bool)):
                self.refuse(at, f"{_shown(at)} must be {TYPE_NAMES[spec]}: {NOT_CONFINED}")
        elif isinstance(spec, list):
            if not isinstance(data, list):
                self.refuse(at, f"{_shown(at)} must be a list: {NOT_CONFINED}")
                return
            for i, item in enumerate(data):
                self.value(item, spec[0], (*at, i))
        else:
            self.mapping(data, spec, at)

    def mapping(self, data: Any, spec: dict[Any, Any], at: PathT) -> None:
        if data is None and at:
            return  # an empty field (`patches:`) is absent for Go too
        if not isinstance(data, dict):
            self.refuse(at, f"{_shown(at) or 'the document'} must be a mapping: {NOT_CONFINED}")
            return
        if at == ("metadata",) or (at and at[-1] == "metadata"):
            annotations = data.get("annotations")
            if isinstance(annotations, dict) and any(
                a in annotations for a in FUNCTION_ANNOTATIONS
            ):
                self.refuse(at, PLUGIN, PLUGIN_RULE)
                return
        for key, item in data.items():
            if not at and key in HELM_FIELDS:
                self.refuse((key,), f"{key} {HELM}: {NOT_CONFINED}")
            elif str in spec and isinstance(key, str):  # a map: any string key
                self.value(item, spec[str], (*at, key))
            elif not isinstance(key, str) or key not in spec:
                self.refuse(
                    (*at, key) if isinstance(key, str) else at,
                    f"{key!r} is not a field check understands (kustomize also reads it in "
                    f"another letter case or as something else): {NOT_CONFINED}",
                )
            elif item is not None:
                self.value(item, spec[key], (*at, key))

    # --- paths --------------------------------------------------------------------------------

    def path(self, entry: Any, kind: str, at: PathT) -> None:
        if not isinstance(entry, str) or not entry:
            self.refuse(at, f"{_shown(at)} must be a non-empty path: {NOT_CONFINED}")
            return
        if kind == "config":
            self.config(entry, at)
            return
        if kind == "patch" and "\n" in entry:
            return  # an inline patch: an object, no path (kustomize reads it as YAML)
        if kind == "keyfile":
            entry = entry.split("=", 1)[1] if "=" in entry else entry
        target = self.resolve(entry, at)
        if target is None:
            return
        found = self.proof.files.kind(target)
        if kind == "root":
            if found is None:
                self.refuse(
                    at,
                    f"{entry!r} does not exist in the repository (kustomize would try to fetch "
                    f"it as a remote repository): {NOT_CONFINED}",
                )
            elif found == "dir":
                self.proof.kustomization(target, self.depth + 1)
            else:
                self.bounded(target, entry, at)
            return
        if found != "file":
            self.refuse(at, f"{entry!r} is no file of the repository: {NOT_CONFINED}")
            return
        self.bounded(target, entry, at)

    def resolve(self, entry: str, at: PathT) -> str | None:
        if "://" in entry or entry.startswith(("git@", "git::")):
            self.refuse(at, f"{entry!r} {REMOTE}: {NOT_CONFINED}")
            return None
        try:
            target = self.proof.files.resolve(self.directory, entry)
        except OutsideRepositoryError as err:
            self.refuse(at, f"{entry!r} {err.message}: {NOT_CONFINED}")
        except InputError as err:  # a symlink loop or a NUL
            self.refuse(at, f"{entry!r} {err.message}: {NOT_CONFINED}")
        else:
            if not entry.startswith("/"):
                return target
            # Inside this checkout, but Flux builds the repository in another directory.
            self.refuse(at, f"{entry!r} is an absolute path: {NOT_CONFINED}")
        return None

    def bounded(self, target: str, entry: str, at: PathT) -> bool:
        size = self.proof.files.size(target)
        if size > yamlio.MAX_FILE_BYTES:
            self.refuse(
                at,
                f"{entry!r} is {size >> 20} MiB, over the {yamlio.MAX_FILE_BYTES >> 20} MiB "
                f"limit for a file kustomize reads: {NOT_CONFINED}",
            )
            return False
        return True

    def config(self, entry: str, at: PathT) -> None:
        """A generators/transformers/validators entry: inline YAML first, as kustomize tries it
        (kusttarget.go), else a file of builtin configs; a directory's configs are what its
        kustomization outputs, known only after building it: never proven."""
        inline = _inline(entry)
        if inline is not None:
            for doc in inline:
                self.builtin(doc, at, "")
            return
        target = self.resolve(entry, at)
        if target is None:
            return
        found = self.proof.files.kind(target)
        if found != "file":
            why = "is a directory: the configs it outputs" if found == "dir" else "does not exist"
            self.refuse(at, f"{entry!r} {why} cannot be read before building: {NOT_CONFINED}")
            return
        if not self.bounded(target, entry, at):
            return
        # Paths in a config are the kustomization's loader's: relative to its directory. What
        # is wrong in it is reported at the entry naming it, with the config file's path.
        for doc in self.proof.documents(target, self.file, self.node, at) or []:
            self.builtin(doc.data, at, f"{target}: ")

    def builtin(self, data: Any, at: PathT, prefix: str) -> None:
        """One builtin generator/transformer config (apiVersion: builtin), reported at ``at``
        (the entry of the kustomization that names it or holds it inline)."""
        walk = _Walk(self.proof, self.file, self.directory, self.node, self.depth, prefix)
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind == "HelmChartInflationGenerator":
            walk.refuse(at, f"{kind} {HELM}: {NOT_CONFINED}")
        elif (
            not isinstance(data, dict)
            or data.get("apiVersion") != "builtin"
            or kind not in BUILTINS
        ):
            meta = data.get("metadata") if isinstance(data, dict) else None
            annotations = meta.get("annotations") if isinstance(meta, dict) else None
            if isinstance(annotations, dict) and any(
                a in annotations for a in FUNCTION_ANNOTATIONS
            ):
                walk.refuse(at, PLUGIN, PLUGIN_RULE)
            else:
                walk.refuse(
                    at, f"is no builtin generator or transformer check understands: {NOT_CONFINED}"
                )
        else:
            walk.value(data, BUILTINS[kind], at)


def _inline(entry: str) -> list[Any] | None:
    """The documents of an entry kustomize reads as inline YAML, or None for a path.

    kustomize reads the entry as a resource list first (``NewResMapFromBytes``): anything that
    parses to a mapping is taken as configs. Only a plain scalar that reads as itself is a
    path; an entry that does not read as YAML here (go-yaml may read it otherwise) is one
    document check cannot know, so it is refused as a config (``[entry]``)."""
    try:
        docs = list(yaml.safe_load_all(entry))
    except yaml.YAMLError:
        return [entry]
    if len(docs) == 1 and isinstance(docs[0], str) and docs[0] == entry.strip() == entry:
        return None
    return [d for d in docs if d is not None] or [entry]


def _shown(at: PathT) -> str:
    return ".".join(str(p) for p in at if isinstance(p, str))


def unproven(files: Files, directory: str) -> list[Finding]:
    """What keeps the kustomization of ``directory`` (and all it names) from being proven
    confined: empty when kustomize may build it. ``check`` builds nothing that has one.
    InputError when a file it names does not read (bad YAML)."""
    proof = _Proof(files)
    proof.kustomization(directory)
    return proof.found
