"""``add-account``: one new entry in accounts.yaml, the person's comments and layout kept.

accounts.yaml is the file people edit by hand, so this is where the tool writes YAML through
ruamel.yaml's round-trip mode, which keeps comments, key order and quoting (rendered files use
the C dumper instead). The file is first read and validated through the input layer
(``yamlio``, ``model``), so ruamel only ever sees text that is already bounded and
well-formed. The new entry is placed by the
round trip and then inserted into the original text, so every existing line stays byte for
byte even where ruamel would normalise something (``key:  value`` spacing, a ``---`` line).
The edited text is validated by the model exactly as every command reads accounts.yaml, and
must mean the old data plus the new entry before anything is written.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, replace
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from capa_accounts.core import accounts_file, eks_versions, filewrite, model, yamlio
from capa_accounts.core.errors import CapaAccountsError, ConfigError
from capa_accounts.core.schema.accountset import ACCOUNT_ENTRY
from capa_accounts.core.schema.validator import compile_schema, validate
from capa_accounts.kustomize_plugin import render, transaction

# The command-line spelling of each key of a new entry, so an error names what the user typed.
OPTIONS = {
    "name": "NAME",
    "accountId": "--account-id",
    "region": "--region",
    "kubernetesVersion": "--kubernetes-version",
    "namespace": "--namespace",
}
HINTS = {
    "name": "a DNS-1123 label: lower-case letters, digits and '-'",
    "accountId": "an AWS account ID has 12 digits",
    "region": "such as eu-west-1",
    "kubernetesVersion": '"major.minor", such as 1.35',
    "namespace": "a DNS-1123 label",
}
# Keys written as quoted strings: YAML would read 1.30 as the number 1.3, and a 12-digit ID as an
# integer (losing leading zeros).
QUOTED = ("accountId", "kubernetesVersion")


def add_account(
    repo: Path,
    name: str,
    *,
    account_id: str,
    region: str,
    kubernetes_version: str | None,
    namespace: str | None,
) -> list[str]:
    """Append an account to accounts.yaml, render, and describe what changed."""
    path = repo / model.ACCOUNTS_FILE
    target = write_target(repo, path)
    filewrite.remove_leftovers_of(target)
    old = transaction.load(repo)  # a killed run's leftovers removed first
    if old.document is None:  # pragma: no cover - load_account_set keeps the document it read
        raise ConfigError("no AccountSet document", model.ACCOUNTS_FILE)
    on = eks_versions.today()
    version = kubernetes_version if kubernetes_version is not None else default_version(old, on)
    entry: dict[str, Any] = {
        "name": name,
        "accountId": account_id,
        "region": region,
        "kubernetesVersion": version,
    }
    if namespace is not None and namespace != name:
        entry["namespace"] = namespace
    _check_options(entry)
    # A new account is a new cluster: EKS creates none past extended support (CAPA-C009).
    if refused := eks_versions.new_cluster_refusal(version, on):
        raise ConfigError(f"--kubernetes-version: {refused}")

    original = yamlio.read_text(path, model.ACCOUNTS_FILE)
    expected = copy.deepcopy(old.document.data)
    expected["spec"]["accounts"].append(entry)
    text, reformatted, docs = _edited_text(original, old.document.node, entry, expected)
    # The shortened edit proved the text means ``expected``; the old file's nodes still place
    # every old entry (the new one goes after them), and an error names the file only.
    new = _parse(
        docs or [yamlio.Document(model.ACCOUNTS_FILE, 0, old.document.node, expected, text)], name
    )

    # One transaction: accounts.yaml is put in place last, with the rendered files; a failure
    # or a signal anywhere leaves every file as it was.
    # Only what the new account changes is planned: its own files and the shared ones.
    added = next(a for a in new.accounts if a.name == name)
    done = transaction.render(
        repo,
        new,
        only=[added.name],
        scope=render.account_directories(added),
        also=[(target, text, model.ACCOUNTS_FILE)],
    )

    lines = [f"added account {name} ({account_id}, {region}, Kubernetes {version})"]
    if reformatted:
        lines.append(
            f"note: {model.ACCOUNTS_FILE}: the YAML round trip reformatted lines other "
            "than the new account"
        )
    lines += [
        model.shared_id_warning(first, later) for first, later in model.shared_account_ids(new)
    ]
    if note := eks_versions.extended_note(version, on):
        lines.append(f"warning: {note}")
    lines += [f"warning: {warning}" for warning in done.plan.warnings]
    lines += [f"{change.action:6} {change.path}" for change in done.todo]
    return lines


def write_target(repo: Path, path: Path) -> Path:
    """The file to replace: accounts.yaml, or the file its symlink names inside the repository
    (replacing the symlink would leave its target stale). Out of the repository: refused."""
    if not path.is_symlink():
        return path
    return yamlio.inside(repo, path, model.ACCOUNTS_FILE)


def default_version(account_set: model.AccountSet, on: date) -> str:
    """The newest Kubernetes version any account or cluster declares, compared as numbers,
    while EKS still gives it standard support on ``on``; else the newest version that has it."""
    versions = [c.kubernetes_version for a in account_set.accounts for c in a.clusters]
    versions += [a.kubernetes_version for a in account_set.accounts]
    if not versions:
        raise ConfigError("--kubernetes-version: required, no account declares a version")
    newest = max(versions, key=lambda v: tuple(int(part) for part in v.lstrip("v").split(".")))
    if eks_versions.support(newest, on) == "standard":
        return newest
    return eks_versions.newest_standard(on)


def _check_options(entry: dict[str, Any]) -> None:
    """The model's own schema for an entry, reported against the option that supplied the value."""
    violations = validate(compile_schema(ACCOUNT_ENTRY), entry)
    for key in OPTIONS:
        for v in violations:
            if v.path[:1] == (key,) and key == "kubernetesVersion":
                raise ConfigError(f"{OPTIONS[key]}: {eks_versions.refusal(entry[key])}")
            if v.path[:1] == (key,):
                raise ConfigError(f"{OPTIONS[key]}: {v.message} ({HINTS[key]})")
    if violations:  # pragma: no cover - every key of an entry is an option
        raise ConfigError(violations[0].message)


def _parse(docs: list[yamlio.Document], name: str) -> model.AccountSet:
    """The model's validation of the edited file (``docs``: as the input layer reads it):
    conflicts such as CAPA-X001 stop here."""
    try:
        return accounts_file.parse_account_set(docs[0])
    except ConfigError as err:
        # The line would point into a file that was never written: name the file only.
        raise ConfigError(
            f"cannot add account {name!r}: {err.message}", model.ACCOUNTS_FILE
        ) from err


# --- the edit -----------------------------------------------------------------------------


def _edited_text(
    original: str, root: yaml.Node, entry: dict[str, Any], expected: Any
) -> tuple[str, bool, list[yamlio.Document] | None]:
    """The new text, whether lines other than the new entry had to change, and the text as the
    input layer reads it (None: it means ``expected``, not read again)."""
    crlf = "\r\n" in original
    text = original.replace("\r\n", "\n")
    layout = _layout(root)
    fast = _edited_by_the_last_entry(text, root, layout, entry, expected)
    if fast is not None:
        return (fast.replace("\n", "\r\n") if crlf else fast), False, None
    try:
        before = _round_trip(text, layout, None)
        after = _round_trip(text, layout, entry)
    except RuamelError as err:  # the input layer read it, so this is a ruamel limitation
        raise ConfigError(
            f"cannot edit with the YAML round trip: {' '.join(str(err).split())}; "
            "add the account by hand",
            model.ACCOUNTS_FILE,
        ) from err
    # A flow list is one line: the round trip's rewrite of that line is the edit itself.
    for candidate, reformatted in ((_insert(text, before, after), False), (after, layout.block)):
        docs = None if candidate is None else _means(candidate, expected)
        if candidate is not None and docs is not None:
            return (candidate.replace("\n", "\r\n") if crlf else candidate), reformatted, docs
    raise ConfigError(
        "cannot add the account without changing what the rest of the file means; add it by hand",
        model.ACCOUNTS_FILE,
    )


def _edited_by_the_last_entry(
    text: str, root: yaml.Node, layout: Layout, entry: dict[str, Any], expected: Any
) -> str | None:
    """The edit made on the file without every account entry but the last, then put into the
    whole file: ruamel's round trip (pure Python, about 2 ms per entry) costs the same for 3
    accounts as for 5,000. The new entry goes after the last one, and what ruamel does there
    depends on the last entry and what follows the list, which the shortened file keeps.
    The shortened file, edited, must mean the shortened ``expected`` (the last entry and the
    new one): the entries left out are whole items of the same block list, before the edit,
    so the whole file then means ``expected`` without reading all of it again (at 5,000
    accounts, that read took longer than the rest of the command). None when that does not
    apply (a flow list, a dash alone on its line, an anchor in a removed entry, another
    meaning): the caller round-trips the whole file then."""
    _key, accounts = yamlio.node_at(root, ("spec", "accounts"))
    if not (layout.block and isinstance(accounts, yaml.SequenceNode) and len(accounts.value) >= 2):
        return None
    lines = text.splitlines(keepends=True)
    first, last = accounts.value[0].start_mark.line, accounts.value[-1].start_mark.line
    if not all(lines[n].lstrip(" ").startswith("-") for n in (first, last)):
        return None
    removed = last - first
    small = "".join(lines[:first] + lines[last:])
    try:
        before = _round_trip(small, layout, None)
        after = _round_trip(small, layout, entry)
    except RuamelError:
        return None
    placed = _placed(small, before, after)
    if placed is None or placed[1] <= first:
        return None
    small_expected = {
        **expected,
        "spec": {**expected["spec"], "accounts": expected["spec"]["accounts"][-2:]},
    }
    if _means(_joined(small.splitlines(keepends=True), *placed), small_expected) is None:
        return None
    return _joined(lines, placed[0], placed[1] + removed)


@dataclass(frozen=True)
class Layout:
    """The file's indentation in ruamel's terms, and the column of the account list's dashes."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2
    key: int = 2  # column of `accounts:`
    dash: int = 4
    block: bool = True  # False for a flow list, which the edit rewrites as one line


def _layout(root: yaml.Node) -> Layout:
    """Measured on ``spec`` (mapping indent) and ``spec.accounts`` (sequence indent and offset)."""
    layout = Layout()
    spec_key, spec = yamlio.node_at(root, ("spec",))
    if spec_key is not None and isinstance(spec, yaml.MappingNode) and not spec.flow_style:
        indent = spec.start_mark.column - spec_key.start_mark.column
        layout = replace(layout, mapping=max(1, indent))
    key, accounts = yamlio.node_at(root, ("spec", "accounts"))
    if (
        key is not None
        and isinstance(accounts, yaml.SequenceNode)
        and not accounts.flow_style
        and accounts.value
    ):
        # A block sequence starts at its first dash, an item mapping at its first key.
        column = key.start_mark.column
        offset = accounts.start_mark.column - column
        sequence = max(offset + 2, accounts.value[0].start_mark.column - column)
        layout = replace(
            layout, sequence=sequence, offset=offset, key=column, dash=accounts.start_mark.column
        )
    elif isinstance(accounts, yaml.SequenceNode) and accounts.flow_style:
        layout = replace(layout, block=False)
    return layout


def _round_trip(text: str, layout: Layout, entry: dict[str, Any] | None) -> str:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 10_000  # never fold a long line or comment that the person wrote on one line
    rt.indent(mapping=layout.mapping, sequence=layout.sequence, offset=layout.offset)
    data = rt.load(text)
    if entry is not None:
        accounts = data["spec"]["accounts"]
        last = accounts[-1]
        item = CommentedMap()
        for key, value in entry.items():
            item[key] = _quoted(value, last.get(key)) if key in QUOTED else value
        if layout.block:
            _move_trailing_comment(accounts, item, layout)
        accounts.append(item)
    out = StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _quoted(value: str, like: Any) -> str:
    """Double quotes, or single quotes where the file quotes that key that way."""
    if isinstance(like, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    return DoubleQuotedScalarString(value)


def _move_trailing_comment(accounts: CommentedSeq, item: CommentedMap, layout: Layout) -> None:
    """Keep comments that follow the list after the new entry, not between it and the last one.

    ruamel attaches every comment line up to the next token to the deepest last value before
    it, so a commented-out ``# check:`` section after the list belongs to the last account. The
    lines left of the list's dashes (and the blank lines before them) belong to what follows the
    list; lines at or right of the dashes (a commented-out field or entry) stay where they are.
    With unindented dashes (``accounts:`` then ``- name:``) a comment in the dashes' column
    belongs to the next key unless it is a commented-out entry (``# - name: ...``).
    """
    slot = _last_comment_slot(accounts)
    if slot is None:
        return
    comments, index = slot
    token = comments[index]
    head, newline, rest = token.value.partition("\n")
    lines = rest.splitlines(keepends=True)
    cut = next((i for i, line in enumerate(lines) if _after_list(line, layout)), len(lines))
    while cut > 0 and not lines[cut - 1].strip():
        cut -= 1
    if not newline or cut == len(lines):
        return
    moved = copy.copy(token)
    moved.value = "\n" + "".join(lines[cut:])
    kept = head + newline + "".join(lines[:cut])
    if kept.strip():
        token.value = kept
    else:
        comments[index] = None
    item.ca.items[list(item.keys())[-1]] = [None, None, moved, None]


def _after_list(line: str, layout: Layout) -> bool:
    text = line.lstrip(" ")
    column = len(line) - len(text)
    if not text.strip():
        return False
    return column < layout.dash or (
        column == layout.key and not text.lstrip("#").lstrip().startswith("-")
    )


def _last_comment_slot(node: Any) -> tuple[list[Any], int] | None:
    """The ruamel comment slot after the deepest last value under ``node`` that has one."""
    slot: tuple[list[Any], int] | None = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        if isinstance(node, CommentedMap):
            key: Any = list(node.keys())[-1]
            index = 2  # ruamel keeps [pre, ?, post-value comment, ?] per key
        else:
            key, index = len(node) - 1, 0  # and [post-item comment, ?] per list index
        comments = node.ca.items.get(key)
        if comments and comments[index] is not None:
            slot = (comments, index)
        node = node[key]
    return slot


def _insert(text: str, before: str, after: str) -> str | None:
    """``text`` with the lines the round trip added between ``before`` and ``after``.

    ``after`` is ``before`` with one block of lines inserted; the block goes into ``text`` at
    the line that matches its position in ``before``, so no existing line of ``text`` changes.
    """
    placed = _placed(text, before, after)
    if placed is None:
        return None
    return _joined(text.splitlines(keepends=True), *placed)


def _joined(lines: list[str], block: list[str], at: int) -> str:
    if at == len(lines) and lines and not lines[-1].endswith("\n"):
        lines = [*lines[:-1], lines[-1] + "\n"]
    return "".join(lines[:at] + block + lines[at:])


def _placed(text: str, before: str, after: str) -> tuple[list[str], int] | None:
    """The lines ``after`` adds to ``before``, and the line of ``text`` they go before."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    start = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))
    size = len(new) - len(old)
    if size <= 0 or old != new[:start] + new[start + size :]:
        return None
    return new[start : start + size], _matching_line(text.splitlines(keepends=True), old, start)


def _matching_line(lines: list[str], dumped: list[str], index: int) -> int:
    """The index in ``lines`` that corresponds to ``index`` in ``dumped`` (its round trip)."""
    matcher = difflib.SequenceMatcher(None, lines, dumped, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if b1 <= index < b2:
            if tag == "equal":
                return a1 + index - b1
            return a1 if index == b1 else a2
    return len(lines)


def _means(text: str, expected: Any) -> list[yamlio.Document] | None:
    """``text`` as the input layer reads it (as every command reads it), if that is
    ``expected``."""
    try:
        docs = yamlio.documents_from_text(text, model.ACCOUNTS_FILE, require=True)
    except CapaAccountsError:
        return None
    return docs if len(docs) == 1 and docs[0].data == expected else None
