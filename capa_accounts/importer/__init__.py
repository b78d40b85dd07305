"""``import``: accounts.yaml and base/ from a hand-written tree, such that render reproduces it.

The tree is read as ``check`` reads a repository (kustomizations built as Flux builds them,
loose manifests, clusterawsadm ``AWSIAMConfiguration`` files). Each ``AWSClusterRoleIdentity``
is an account (its ``roleARN`` gives the account ID and partition, ``allowedNamespaces`` the
namespace), the control planes in that namespace give its clusters, regions and versions, a
target account's ``trustStatements`` the management principal. base/ is the first account's
objects with the account's names taken out; what the other accounts do differently becomes
their ``patches``. Render then runs in a scratch copy, and every rendered object is compared
with the tree's: what a patch cannot express (the identity chain, names, namespaces, objects
render does not write, stricter IAM configs) is listed with its file and line, never dropped
silently. Nothing that exists is overwritten.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capa_accounts.core import aws, layout, yamldump, yamlio
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.errors import InputError
from capa_accounts.core.model import ACCOUNTS_FILE, MANAGEMENT
from capa_accounts.core.resources import (
    CLUSTER_NAME_LABEL,
    CONTROL_PLANE,
    INFRA_GROUP,
    ROLE_IDENTITY,
    ResourceId,
    group_of,
)
from capa_accounts.core.schema.accountset import API_VERSION
from capa_accounts.hooks.check import repository
from capa_accounts.importer.compare import Item, clean, compare, item, meta, rendered_objects
from capa_accounts.kustomize_plugin import render
from capa_accounts.kustomize_plugin.clusters import cluster_members, rename_cluster

IAM_KIND = "AWSIAMConfiguration"
BASE_FILES = {"Namespace": "namespace.yaml", ROLE_IDENTITY: "identity.yaml"}


@dataclass
class Imported:
    files: dict[str, str]  # path in the destination → text
    items: list[Item] = field(default_factory=list)


@dataclass
class _Account:
    name: str
    identity: yamlio.Document
    namespace: str
    docs: list[yamlio.Document] = field(default_factory=list)
    entry: dict[str, Any] = field(default_factory=dict)


def _accounts(docs: list[yamlio.Document], items: list[Item]) -> list[_Account]:
    found = []
    for doc in docs:
        data = doc.data
        if data.get("kind") != ROLE_IDENTITY or group_of(data.get("apiVersion")) != INFRA_GROUP:
            continue
        spec = data.get("spec") or {}
        allowed = ((spec.get("allowedNamespaces") or {}).get("list")) or []
        if len(allowed) != 1:
            items.append(
                item(
                    doc,
                    ("spec", "allowedNamespaces"),
                    "not imported: an account's identity admits exactly its own namespace, "
                    f"this one admits {allowed or 'every namespace'}",
                )
            )
            continue
        match = aws.ROLE_ARN.fullmatch(str(spec.get("roleARN", "")))
        if match is None:
            items.append(item(doc, ("spec", "roleARN"), "not imported: roleARN is no role ARN"))
            continue
        name = str(allowed[0])
        account = _Account(name, doc, name)
        entry: dict[str, Any] = {"name": name, "accountId": match["account"]}
        if match["partition"] != "aws":
            entry["partition"] = match["partition"]
        if meta(data).get("name") != f"{name}-identity":
            entry["identityName"] = meta(data).get("name")
        for key in ("sessionName", "externalID", "durationSeconds"):
            if key in spec and not (key == "sessionName" and spec[key] == f"capa-{name}"):
                entry[key] = spec[key]
        role = match["name"]
        controllers = "controllers"
        if controllers in role and role != aws.CONTROLLERS + aws.DEFAULT_NAME_SUFFIX:
            prefix, _, suffix = role.partition(controllers)
            entry["namePrefix"], entry["nameSuffix"] = prefix, suffix
        account.entry = entry
        found.append(account)
    return found


def _clusters(account: _Account) -> None:
    """Regions, versions and cluster names from the account's control planes."""
    planes = [d for d in account.docs if d.data.get("kind") == CONTROL_PLANE]
    clusters = [d for d in account.docs if d.data.get("kind") == "Cluster"]
    first = (planes[0].data.get("spec") or {}) if planes else {}
    account.entry["region"] = first.get("region", "")
    account.entry["kubernetesVersion"] = str(first.get("version", "")).lstrip("v")[:4].rstrip(".")
    names = [str(meta(c.data).get("name")) for c in clusters]
    if names and names != [account.name]:
        entries: list[dict[str, Any]] = [{"name": n} for n in names]
        for entry, plane in zip(entries, _planes_of(clusters, planes), strict=True):
            spec = (plane.data.get("spec") or {}) if plane else {}
            if spec.get("region", account.entry["region"]) != account.entry["region"]:
                entry["region"] = spec["region"]
        account.entry["clusters"] = entries


def _borrow_regions(accounts: list[_Account], items: list[Item]) -> None:
    """An account without a control plane takes region and version from the first that has
    one; the import says so at its identity."""
    lender = next((a for a in accounts if a.entry.get("region")), None)
    if lender is None:
        raise InputError(
            "no AWSManagedControlPlane in any account namespace: nothing gives a region",
            accounts[0].identity.file,
        )
    for account in accounts:
        if account.entry.get("region"):
            continue
        account.entry["region"] = lender.entry["region"]
        account.entry["kubernetesVersion"] = lender.entry["kubernetesVersion"]
        items.append(
            item(
                account.identity,
                (),
                f"account {account.name!r} has no control plane in namespace "
                f"{account.namespace!r}: region and kubernetesVersion are account "
                f"{lender.name!r}'s, check them",
            )
        )


def _planes_of(
    clusters: list[yamlio.Document], planes: list[yamlio.Document]
) -> Iterator[yamlio.Document | None]:
    by_name = {meta(p.data).get("name"): p for p in planes}
    for cluster in clusters:
        ref = (cluster.data.get("spec") or {}).get("controlPlaneRef") or {}
        yield by_name.get(ref.get("name"))


def _management(
    docs: list[yamlio.Document], accounts: list[_Account], items: list[Item]
) -> dict[str, Any]:
    """The management principal, from the targets' trust statements."""
    for doc in docs:
        if doc.data.get("kind") != IAM_KIND:
            continue
        spec = doc.data.get("spec") or {}
        controllers = spec.get("clusterAPIControllers") or {}
        for statement in controllers.get("trustStatements") or []:
            principals = (statement.get("Principal") or {}).get("AWS") or []
            for arn in [principals] if isinstance(principals, str) else principals:
                match = aws.PRINCIPAL_ARN.fullmatch(str(arn))
                if match:
                    out = {"accountId": match["account"]}
                    if match["type"] == "user":
                        out["principal"] = "bootstrapUser"
                    if (spec.get("eks") or {}).get("iamRoleCreation"):
                        for account in accounts:
                            account.entry["iamRoleCreation"] = True
                    return out
    raise InputError(
        "no target AWSIAMConfiguration trusts a management principal: pass --management-account-id",
        ".",
    )


def _base(account: _Account) -> dict[str, list[dict[str, Any]]]:
    """The template account's objects without its names: base/ by file. Of its clusters only
    the first goes into base/ (render clones it per cluster); the others' differences are
    patches or listed items."""
    files: dict[str, list[dict[str, Any]]] = {}
    docs = [clean(d.data) for d in [account.identity, *account.docs]]
    clusters = [i for i, d in enumerate(docs) if d.get("kind") == "Cluster"]
    members: dict[int, int] = {}  # item index -> index of the Cluster it belongs to
    for c in clusters:
        for i in cluster_members(docs, docs[c]):
            members.setdefault(i, c)
    first = clusters[0] if clusters else None
    group = []
    for i, data in enumerate(docs):
        if first is None and data.get("kind") == CONTROL_PLANE:
            continue  # no CAPI Cluster owns it: render's clusters start from one (listed)
        if i in members and members[i] != first:
            continue
        fields = data["metadata"]
        fields.pop("namespace", None)
        labels = fields.get("labels") or {}
        labels.pop(CLUSTER_NAME_LABEL, None)
        if not labels:
            fields.pop("labels", None)
        _placeholders(data)
        if i in members:
            group.append(data)
        else:
            files.setdefault(BASE_FILES.get(str(data.get("kind")), "resources.yaml"), []).append(
                data
            )
    if group and first is not None:
        rename_cluster(group, str(meta(docs[first]).get("name")), "cluster")
        files["cluster.yaml"] = group
    return files


def _placeholders(data: dict[str, Any]) -> None:
    """base/'s neutral names where render fills in the account's anyway (transform.py)."""
    kind, meta, spec = data.get("kind"), data["metadata"], data.get("spec")
    if kind == ROLE_IDENTITY and isinstance(spec, dict):
        meta["name"] = "account-identity"
        spec["roleARN"] = aws.role_arn(
            "aws", "000000000000", aws.CONTROLLERS + aws.DEFAULT_NAME_SUFFIX
        )
        spec["allowedNamespaces"] = {"list": ["account"]}
        spec.pop("sessionName", None)
    elif kind == "Namespace":
        meta["name"] = "account"
    elif (
        isinstance(spec, dict)
        and isinstance(spec.get("identityRef"), dict)
        and spec["identityRef"].get("kind") == ROLE_IDENTITY
    ):
        spec["identityRef"]["name"] = "account-identity"


def import_tree(source: Path, management_account_id: str | None = None) -> Imported:
    """accounts.yaml and base/ for the tree at ``source``, and what they do not reproduce."""
    loaded = repository.load(source)
    items = [Item(p.file, p.line, f"[{p.rule}] {p.message}") for p in loaded.problems]
    docs = [d for d, _s in loaded.documents if isinstance(d.data, dict)]
    accounts = _accounts(docs, items)
    if not accounts:
        raise InputError("no AWSClusterRoleIdentity found: nothing to import", str(source))
    by_namespace = {a.namespace: a for a in accounts}
    originals: dict[ResourceId, yamlio.Document] = {}
    for doc in docs:
        rid = ResourceId.of(doc.data)
        account = by_namespace.get(rid.namespace) or next(
            (a for a in accounts if a.identity is doc), None
        )
        if account is None and rid.kind == "Namespace":
            account = by_namespace.get(rid.name)
        if account is None:
            if doc.data.get("kind") != IAM_KIND:
                items.append(item(doc, (), f"not imported: {rid.kind} {rid.name} is no account's"))
            continue
        if account.identity is not doc:
            account.docs.append(doc)
        originals[rid] = doc
    for account in accounts:
        _clusters(account)
    _borrow_regions(accounts, items)
    management = (
        {"accountId": management_account_id}
        if management_account_id
        else _management(docs, accounts, items)
    )
    base = _base(accounts[0])
    scratch = Path(tempfile.mkdtemp(prefix="capa-accounts-import-"))
    try:
        entries = [a.entry for a in accounts]
        files = _files(management, entries, base)
        _write(scratch, files)
        plan = render.plan(scratch, load_account_set(scratch))
        found, _first = compare(originals, rendered_objects(plan))
        for account in accounts:
            if found.get(account.namespace):
                account.entry["patches"] = found[account.namespace]
        files = _files(management, entries, base)
        _write(scratch, files)
        plan = render.plan(scratch, load_account_set(scratch))
        _found, rest = compare(originals, rendered_objects(plan))
        items += rest
        items.extend(_iam_items(docs, plan))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Imported(files, sorted(items, key=lambda i: (i.file, i.line)))


def _iam_items(docs: list[yamlio.Document], plan: render.Plan) -> list[Item]:
    """clusterawsadm configs: render writes its own, stricter ones; differences are listed."""
    return [
        item(
            d,
            ("spec",),
            f"clusterawsadm config not imported: render writes {layout.bootstrap_file(MANAGEMENT)} "
            f"and {layout.BOOTSTRAP}/<account>.yaml from accounts.yaml "
            f"({len([p for p in plan.files if p.startswith(f'{layout.BOOTSTRAP}/')])} files)",
        )
        for d in docs
        if d.data.get("kind") == IAM_KIND
    ]


def _files(
    management: dict[str, Any], entries: list[dict[str, Any]], base: dict[str, list[Any]]
) -> dict[str, str]:
    account_set = {
        "apiVersion": API_VERSION,
        "kind": "AccountSet",
        "metadata": {"name": "imported"},
        "spec": {"management": management, "accounts": entries},
    }
    header = (
        "# yaml-language-server: $schema=./accounts.schema.json\n"
        "# Written by `capa-accounts import`; edit, then run `capa-accounts render`.\n"
    )
    out = {ACCOUNTS_FILE: header + yamldump.dump(account_set)}
    for name, docs in base.items():
        out[f"{layout.BASE}/{name}"] = yamldump.dump_documents(docs)
    out[f"{layout.BASE}/kustomization.yaml"] = yamldump.dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(base),
        }
    )
    return out


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write(destination: Path, imported: Imported) -> list[str]:
    """Create the files; refuses before writing anything if one of them exists."""
    for rel in imported.files:
        if (destination / rel).exists() or (destination / rel).is_symlink():
            raise InputError("exists: import overwrites nothing; import into a new directory", rel)
    _write(destination, imported.files)
    return sorted(imported.files)
