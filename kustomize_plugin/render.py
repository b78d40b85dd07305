"""``render``: every generated file of a repository, from accounts.yaml and base/.

Render works on plain data: base/ is read once with the C loader, the KRM transformation runs
in-process per account, files are written with the C dumper. The plan (path → text) is
compared with the tree and applied to it by ``generated``.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from capa_accounts.core import fluxsource, layout, reporoot, yamlio
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.core.errors import InputError, RenderError
from capa_accounts.core.finding import Location
from capa_accounts.core.kustomization import (
    build,
    resource_problem,
)
from capa_accounts.core.model import ACCOUNTS_FILE, MANAGEMENT, OPERATOR, Account, AccountSet
from capa_accounts.core.resources import (
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    INFRA_GROUP,
)
from capa_accounts.core.schema import published
from capa_accounts.kustomize_plugin import bootstrap, flux, operator_mode
from capa_accounts.kustomize_plugin.generated import (
    MANAGED_DIRS,
    current_text,
    has_generated_header,
    header,
    is_generated,
)
from capa_accounts.kustomize_plugin.plan import Plan
from capa_accounts.kustomize_plugin.transform import BASE, transform

# Every line within yamllint's 80 columns (docs/ci.md, "yamllint").
OVERLAY_HEADER = header("accounts.yaml and base/") + "# do not edit: run `capa-accounts render`\n"
BOOTSTRAP_HEADER = header("accounts.yaml").replace("{", "{{").replace("}", "}}") + (
    "# do not edit. Authenticated against account {account_id}, run:\n"
    "#   clusterawsadm bootstrap iam create-cloudformation-stack \\\n"
    "#     --config {path}\n"
)
OPERATOR_KEYS_NOTE = (
    "# then encode an access key of the stack's bootstrapper user into {path},\n"
    "# SOPS-encrypted (docs: operator-mode.md)\n"
)
SOURCE_ANNOTATION = "config.kubernetes.io/path"
SOURCEIGNORE = ".sourceignore"


def load_base(repo: Path) -> list[dict[str, Any]]:
    """base/ as plain items, each annotated with the base file it came from."""
    base = repo / layout.BASE
    if not base.is_dir():
        raise InputError("no base/ directory (the templates of one account)", layout.BASE)
    built = build(repo, base)
    items: list[dict[str, Any]] = []
    for doc in built.documents:
        problem = resource_problem(doc.data)
        if problem is not None:
            line, col = yamlio.position(doc.node, problem[0])
            raise InputError(problem[1], doc.file, line, col)
        item = copy.deepcopy(doc.data)
        meta = item.setdefault("metadata", {})
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            SOURCE_ANNOTATION: Path(doc.file).name,
        }
        items.append(item)
    return items


def _pop_source(item: dict[str, Any]) -> str:
    annotations = item["metadata"].get("annotations") or {}
    source = annotations.pop(SOURCE_ANNOTATION, "resources.yaml")
    if not annotations:
        item["metadata"].pop("annotations", None)
    labels = item["metadata"].get("labels") or {}
    cluster = labels.get(CLUSTER_NAME_LABEL)
    if cluster:
        stem = source.rsplit(".", 1)[0]
        return f"{stem}-{cluster}.yaml"
    return str(source)


def account_items(
    base: list[dict[str, Any]], account: Account, account_set: AccountSet | None = None
) -> list[dict[str, Any]]:
    """The function's output for one account, in-process (annotations of render kept)."""
    outcome = transform([_copy(i) for i in base], account, _locator(account_set))
    if outcome.failed:
        errors = [r for r in outcome.results if r.severity == "error"]
        if errors[0].file != BASE:  # a patch in accounts.yaml
            raise InputError(errors[0].message, errors[0].file, errors[0].line, errors[0].column)
        raise InputError("; ".join(r.message for r in errors), BASE)
    return [dict(i) for i in outcome.items]


def _locator(account_set: AccountSet | None) -> Callable[[tuple[str | int, ...]], Location]:
    """Where a path of accounts.yaml is, for the function's findings."""

    def locate(path: tuple[str | int, ...]) -> Location:
        line, column = account_set.locate(path) if account_set is not None else (1, 1)
        return Location(ACCOUNTS_FILE, line, column)

    return locate


def _copy(value: Any) -> Any:
    """``copy.deepcopy`` of plain data (what the input layer builds), faster: render copies
    base/ once per account. The copies 2.41x as fast as with ``copy.deepcopy``, render.plan
    1.16x, at 300 accounts (benchmarks/speedups.py, CPU time, the same plan)."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind in (str, int, bool, float) or value is None:
        return value
    return copy.deepcopy(value)


def overlay_files(overlay: str, items: list[dict[str, Any]]) -> Plan:
    by_file: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_file.setdefault(_pop_source(item), []).append(item)
    out = Plan()
    for name, docs in by_file.items():
        out.add(f"{layout.OVERLAYS}/{overlay}/{name}", OVERLAY_HEADER, docs)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(by_file),
    }
    out.add(f"{layout.OVERLAYS}/{overlay}/kustomization.yaml", OVERLAY_HEADER, [kustomization])
    return out


def management_items(account_set: AccountSet) -> dict[str, list[dict[str, Any]]]:
    """overlays/management: `default`, admitting exactly the account namespaces.

    CAPA checks every hop of an identity chain against the cluster's namespace, `default`
    included (pkg/cloud/scope/session.go:263,367), and AutoControllerIdentityCreator never
    creates `default` for clusters that use role identities, so the repository ships it.

    Operator mode ships it too, although there every control plane names `default` and each
    provider's `default` means its own account's keys: left out, the first provider's
    AutoControllerIdentityCreator would create it admitting every namespace
    (exp/controlleridentitycreator/awscontrolleridentity_controller.go:90-120), so a cluster in
    any namespace could reach any account's keys by its watch-filter label alone. With the
    list, provider credentials stay with the account namespaces, where the admission policy
    (operator flavour) pins the label to the namespace's account.
    """
    # management.namespaces: the management account's own clusters (the management cluster
    # after `clusterctl move`) reach their credentials through `default` too; CAPA refuses a
    # namespace it does not admit ("Namespace is not permitted to use
    # AWSClusterControllerIdentity", pkg/cloud/scope/session.go, buildAWSClusterControllerIdentity).
    admitted = {a.namespace for a in account_set.accounts} | set(account_set.management.namespaces)
    controller = {
        "apiVersion": f"{INFRA_GROUP}/v1beta2",
        "kind": CONTROLLER_IDENTITY,
        "metadata": {"name": DEFAULT_IDENTITY},
        "spec": {"allowedNamespaces": {"list": sorted(admitted)}},
    }
    return {"controller-identity.yaml": [controller]}


def _admission(account_set: AccountSet) -> list[dict[str, Any]]:
    from capa_accounts.kustomize_plugin import admission

    bindings = [
        admission.AccountBinding(a.name, a.namespace, a.identity_name, enforced=a.admission_policy)
        for a in account_set.accounts
    ]
    return admission.admission_objects(
        bindings, account_set.credentials, management_namespaces=account_set.management.namespaces
    )


def provider_files(repo: Path, account: Account, items: list[dict[str, Any]]) -> Plan:
    """providers/<account>/ (operator mode): the provider, its namespace, the user's Secret.

    The Secret is the user's own SOPS-encrypted file; render lists it once it exists and
    never writes it, so the repository never holds credentials of the tool's making.
    """
    out = Plan()
    directory = f"{flux.PROVIDERS_DIR}/{account.name}"
    names = {"Namespace": "namespace.yaml", operator_mode.PROVIDER_KIND: "provider.yaml"}
    for item in items:
        _pop_source(item)  # a provider customised in base/ still goes to provider.yaml
        out.add(f"{directory}/{names[item['kind']]}", OVERLAY_HEADER, [item])
    resources = list(names.values())
    secret = operator_mode.CREDENTIALS_FILE
    if (repo / directory / secret).is_file():
        resources.append(secret)
    else:
        out.warnings.append(
            f"{directory}/{secret} is missing: provider "
            f"{operator_mode.provider_name(account)} waits for Secret "
            f"{operator_mode.credentials_secret(account)} (docs: operator-mode.md)"
        )
    out.add(
        f"{directory}/kustomization.yaml",
        OVERLAY_HEADER,
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": resources,
            }
        ],
    )
    return out


def _check_operator_names(account_set: AccountSet) -> None:
    """Operator mode adds a namespace and a Flux Kustomization per account; refuse collisions."""
    namespaces = {a.namespace: a.name for a in account_set.accounts}
    kustomizations = {flux.kustomization_name(a.name): a.name for a in account_set.accounts}
    for account in account_set.accounts:
        for name, taken, what in (
            (operator_mode.provider_namespace(account), namespaces, "namespace"),
            (flux.provider_kustomization_name(account), kustomizations, "Flux Kustomization"),
        ):
            if name in taken:
                line, col = account_set.locate(("spec", "accounts", account.index, "name"))
                raise InputError(
                    f"operator mode names the {what} of account {account.name!r}'s "
                    f"provider {name!r}, already the {what} of account "
                    f"{taken[name]!r}: rename one of them",
                    "accounts.yaml",
                    line,
                    col,
                )


def plan(
    repo: Path, account_set: AccountSet | None = None, only: Iterable[str] | None = None
) -> Plan:
    """Every generated file; with ``only`` (account names), the files of those accounts and
    the files every account shares (overlays/management, the management stack, Flux's
    management Kustomization): what adding those accounts changes, as no other account's
    files depend on the others (``account_items``, ``bootstrap.target_config`` and
    ``flux.account_kustomization`` read one account and the set's management and
    credentials)."""
    account_set = account_set or load_account_set(repo)
    operator = account_set.credentials == OPERATOR
    if operator:
        _check_operator_names(account_set)
    base = load_base(repo)
    names = None if only is None else set(only)
    accounts = [a for a in account_set.accounts if names is None or a.name in names]
    result = Plan()
    for account in accounts:
        items = account_items(base, account, account_set)
        owned = [operator and operator_mode.is_provider_item(i, account) for i in items]
        own = [i for i, mine in zip(items, owned, strict=True) if mine]
        result.update(
            overlay_files(
                account.name, [i for i, mine in zip(items, owned, strict=True) if not mine]
            )
        )
        if own:
            result.update(provider_files(repo, account, own))
    management = management_items(account_set)
    for name, docs in management.items():
        result.add(f"{layout.OVERLAYS}/{MANAGEMENT}/{name}", OVERLAY_HEADER, docs)
    result.add(
        f"{layout.OVERLAYS}/{MANAGEMENT}/kustomization.yaml",
        OVERLAY_HEADER,
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": list(management),
            }
        ],
    )
    policy = _admission(account_set)
    if policy:  # its own overlay and Flux Kustomization: no `force` (flux.admission_kustomization)
        result.add(
            f"{layout.OVERLAYS}/{flux.ADMISSION_DIR}/admission-policy.yaml", OVERLAY_HEADER, policy
        )
        result.add(
            f"{layout.OVERLAYS}/{flux.ADMISSION_DIR}/kustomization.yaml",
            OVERLAY_HEADER,
            [
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": ["admission-policy.yaml"],
                }
            ],
        )
    mgmt_path = layout.MANAGEMENT_BOOTSTRAP
    if not operator:  # operator mode assumes no role: the management account grants nothing
        header = BOOTSTRAP_HEADER.format(
            account_id=account_set.management.account_id, path=mgmt_path
        )
        header += "".join(f"# {line}\n" for line in bootstrap.workload_identity_steps(account_set))
        result.add(mgmt_path, header, [bootstrap.management_config(account_set)])
    merged = bootstrap.in_management_account(account_set)
    result.warnings += [bootstrap.merge_note(a) for a in merged]
    for account in accounts:
        if account in merged:
            continue
        path = layout.bootstrap_file(account.name)
        header = BOOTSTRAP_HEADER.format(account_id=account.account_id, path=path)
        if operator:
            header += OPERATOR_KEYS_NOTE.format(
                path=f"{flux.PROVIDERS_DIR}/{account.name}/{operator_mode.CREDENTIALS_FILE}"
            )
        result.add(path, header, [bootstrap.target_config(account_set, account)])
    _flux_files(repo, account_set, accounts, bool(policy), result)
    result.files[published.SCHEMA_FILE] = published.text()  # what editors validate with
    result.warnings += _unlisted_warnings(repo, accounts, result)
    return result


def source_prefix(repo: Path, account_set: AccountSet) -> str:
    """Where the repository is in Flux's source (core/fluxsource.py): its Flux paths' prefix."""
    return fluxsource.source_prefix(repo, reporoot.git_top(repo.resolve()), account_set.flux)


def _flux_files(
    repo: Path, account_set: AccountSet, accounts: list[Account], policy: bool, result: Plan
) -> None:
    """The Flux Kustomizations in spec.flux.path, and render's lines of .sourceignore."""
    settings, prefix = account_set.flux, source_prefix(repo, account_set)
    flux_docs = [flux.management_kustomization(account_set.credentials, settings, prefix)]
    if policy:
        flux_docs.append(flux.admission_kustomization(settings, prefix))
    flux_docs += [flux.account_kustomization(a, policy, settings, prefix) for a in accounts]
    if account_set.credentials == OPERATOR:
        flux_docs += [flux.provider_kustomization(a, settings, prefix) for a in accounts]
    for doc in flux_docs:
        result.add(f"{settings.path}/{doc['metadata']['name']}.yaml", OVERLAY_HEADER, [doc])
    result.flux_dir = settings.path
    # The default directory stays managed: a generated file left there after spec.flux.path
    # moved is deleted, never applied twice.
    result.managed = tuple(dict.fromkeys((*MANAGED_DIRS, settings.path)))
    ours = OVERLAY_HEADER + flux.SOURCEIGNORE
    current = current_text(repo / SOURCEIGNORE, SOURCEIGNORE, repo.resolve(), True)
    if current is None or is_generated(current):
        result.files[SOURCEIGNORE] = ours
        return
    merged = flux.merged_sourceignore(current)
    if merged is None:
        raise RenderError(
            f"has the line {flux.SOURCEIGNORE_BEGIN!r} but not {flux.SOURCEIGNORE_END!r} "
            "below it: render keeps its lines between the two; restore the end marker",
            SOURCEIGNORE,
        )
    result.files[SOURCEIGNORE] = merged
    result.merged.add(SOURCEIGNORE)


_YAML = yamlio.YAML_SUFFIXES  # not a name that is only ".yaml" (as Path.suffix)


def _unlisted_warnings(repo: Path, accounts: list[Account], result: Plan) -> list[str]:
    """A hand-written YAML file in an account's overlay: its kustomization (render's) never
    lists it, so Flux never applies it (CAPA-R010). Render keeps it and says so. One lstat
    and one directory listing per overlay (run on every check and render)."""
    out = []
    top = os.fspath(repo)
    for account in accounts:
        overlay = layout.overlay(account.name)
        directory = os.path.join(top, overlay)
        try:
            if not stat.S_ISDIR(os.lstat(directory).st_mode):
                continue  # absent, a file, or a symlink: not an overlay render keeps
            with os.scandir(directory) as listing:
                names = sorted(
                    e.name for e in listing if e.name.endswith(_YAML) and e.name not in _YAML
                )
        except OSError:
            continue
        for name in names:
            rel = f"{overlay}/{name}"
            if rel in result.files:
                continue  # render's own file: most of them
            path = Path(directory, name)
            if path.is_file() and not has_generated_header(path):
                out.append(
                    f"{rel}: no kustomization lists it, Flux never applies it (CAPA-R010); "
                    "give the account its own settings with `patches` in accounts.yaml"
                )
    return out


def account_directories(account: Account) -> list[str]:
    """The directories that hold only files of ``account`` (and nothing else's)."""
    return [layout.overlay(account.name), f"{flux.PROVIDERS_DIR}/{account.name}"]
