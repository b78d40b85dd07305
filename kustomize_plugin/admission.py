"""In-cluster enforcement: the generated ValidatingAdmissionPolicy and its binding.

``default`` (the controller identity) must admit every account namespace, so anyone who may
create an ``AWSManagedControlPlane`` (or any kind of ``GUARDED_KINDS``: each picks its
credentials by ``spec.identityRef``) in an account namespace could point it at ``default`` and
reconcile with the management account's own credentials (capa-facts.md §1, "Chained namespace
check"). The pre-commit checks catch that in git; this module owns the same invariant inside
the cluster, as a ``ValidatingAdmissionPolicy`` (``admissionregistration.k8s.io/v1``, GA in
Kubernetes 1.30: https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/).

The account table is embedded in the policy, not read from a ``paramKind`` ConfigMap: the
policy is cluster-scoped and only cluster administrators may change it, while a ConfigMap has
the writers of its namespace. Each account's row keeps only what differs from the defaults
(``_row``: an account with every default is ``[]``, about 16 bytes), so 25,000 accounts make a
policy of about 0.5 MB, a third of what the API server stores; the owner of an identity is
found by lookups (``_owners``), never by a walk over the fleet, so a decision's CEL cost does
not grow with it. The table is split into literals under CEL's size limit per expression
(``CHUNK_CODE_POINTS``), and a policy the API server could not store is still refused at render.

Each deny message starts with the rule ID that ``check`` reports for the same mistake, so a
denial in the cluster and a finding in CI read alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from capa_accounts.core.errors import ConfigError
from capa_accounts.core.resources import ACCOUNT_LABEL, IDENTITY_USERS, WATCH_FILTER_LABEL
from capa_accounts.kustomize_plugin import admission_table as table
from capa_accounts.kustomize_plugin.admission_table import ROLE_IDENTITY, AccountBinding

POLICY_NAME = "capa-accounts-identity"
API_VERSION = "admissionregistration.k8s.io/v1"
# The values of accounts.yaml's spec.credentials (capa_accounts.core.model).
OPERATOR = "operator"
ROLE_KIND = "AWSClusterRoleIdentity"
CONTROLLER_KIND = "AWSClusterControllerIdentity"
CONTROLLER_NAME = "default"  # the only accepted name (CAPA api/v1beta2/awscluster_types.go:31)


# Every CAPA kind whose spec.identityRef (an AWSIdentityReference) picks the credentials CAPA
# reconciles it with, by API group, as (resource, kind, where CAPA declares the field):
# Every kind whose spec carries an identityRef, as ``check`` judges them: one list,
# core.resources.IDENTITY_USERS, with the CAPA types it was read from. The API server matches
# resources by plural name; each of these is its kind in lower case plus "s" (the CRDs'
# spec.names.plural), and the old RosaNetwork spelling shares ROSANetwork's plural.
def _guarded_kinds() -> tuple[tuple[str, str, str], ...]:
    by_resource: dict[tuple[str, str], str] = {}
    for group, kind in IDENTITY_USERS:
        by_resource.setdefault((group, kind.lower() + "s"), kind)  # the first spelling names it
    return tuple((group, resource, kind) for (group, resource), kind in by_resource.items())


GUARDED_KINDS = _guarded_kinds()  # (group, plural resource, kind)
# Not listed, because their spec has no identityRef: AWSManagedCluster and ROSACluster
# (exp/api/v1beta2/rosacluster_types.go); AWSManagedMachinePool and ROSAMachinePool reconcile
# with their control plane's identity (pkg/cloud/scope/managednodegroup.go). Templates
# (AWSClusterTemplate, AWSManagedControlPlaneTemplate) hold spec.template.spec.identityRef; the
# objects CAPI's topology controller stamps out of them are created through this policy.

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


# etcd's default request limit (server/embed/config.go DefaultMaxRequestBytes), the smaller of
# etcd's and the API server's (3 MiB): a policy over it cannot be stored at all.
OBJECT_LIMIT_BYTES = int(1.5 * 1024 * 1024)


def _variables(accounts: Sequence[AccountBinding], credentials: str) -> list[dict[str, str]]:
    ns_labels = "namespaceObject.metadata.labels"
    obj_labels = "object.metadata.labels"
    maps = table.account_maps(accounts, credentials)
    names = table.chunk_names("accounts", len(maps))
    identity_maps = table.identity_maps(accounts) if credentials == ROLE_IDENTITY else []
    if identity_maps == ["{}"]:
        identity_maps = []
    identity_names = table.chunk_names("identities", len(identity_maps)) if identity_maps else []
    variables = [
        # The mapping is embedded rather than read from the namespace alone: a label only says
        # which account a namespace claims to be, and anyone allowed to label namespaces could
        # claim any account. The claim counts only where the account's namespace is this one.
        *(
            {"name": name.split(".")[1], "expression": literal}
            for name, literal in zip(names, maps, strict=True)
        ),
        *(
            {"name": name.split(".")[1], "expression": literal}
            for name, literal in zip(identity_names, identity_maps, strict=True)
        ),
        # namespaceObject is null for cluster-scoped requests; `== null` (not `!=`) keeps the
        # guard portable to CEL implementations without heterogeneous inequality.
        {
            "name": "account",
            "expression": f"namespaceObject == null ? '' : has({ns_labels})"
            f" && '{ACCOUNT_LABEL}' in {ns_labels}"
            f" ? {ns_labels}['{ACCOUNT_LABEL}'] : ''",
        },
        {
            "name": "known",
            "expression": " || ".join(f"variables.account in {name}" for name in names),
        },
        {"name": "row", "expression": table.lookup("variables.account", names, "['', '', '']")},
        # The account's entry of the table, {} for an unknown account.
        {"name": "entry", "expression": table.entry()},
        {
            "name": "inAccount",
            "expression": "'namespaceName' in variables.entry"
            " && variables.entry.namespaceName == request.namespace",
        },
        {
            "name": "checked",
            "expression": "variables.inAccount && variables.entry.unenforced == ''",
        },
        # An absent identityRef reads as kind '' so later expressions need no has() of their
        # own. Both branches are strings, so the typeChecking the API server runs against the
        # CRD schema has nothing to warn about (status.typeChecking).
        {
            "name": "refKind",
            "expression": "has(object.spec) && has(object.spec.identityRef)"
            " ? object.spec.identityRef.kind : ''",
        },
        {
            "name": "refName",
            "expression": "has(object.spec) && has(object.spec.identityRef)"
            " ? object.spec.identityRef.name : ''",
        },
    ]
    if credentials == ROLE_IDENTITY:
        variables += [
            {
                "name": "expected",
                "expression": "variables.inAccount ? variables.entry.identityName : ''",
            },
            {"name": "owners", "expression": table.owners(identity_names, names)},
        ]
    else:
        variables.append(
            {
                "name": "watchFilter",
                "expression": f"has({obj_labels}) && '{WATCH_FILTER_LABEL}' in {obj_labels}"
                f" ? {obj_labels}['{WATCH_FILTER_LABEL}'] : ''",
            }
        )
    return variables


def _namespace_validation() -> dict[str, str]:
    # CAPA-C003: no account identity admits a namespace that is not an account's own, so a
    # control plane there can only work through `default` (the management account).
    return {
        "expression": "variables.inAccount",
        "message": f"CAPA-C003: this namespace is not an account namespace (label {ACCOUNT_LABEL})",
        "messageExpression": "variables.account == ''"
        f" ? 'CAPA-C003: namespace ' + request.namespace + ' has no {ACCOUNT_LABEL} label:"
        " it is not an account namespace and no account identity admits it'"
        " : !('namespaceName' in variables.entry)"
        " ? 'CAPA-C003: namespace ' + request.namespace + ' is labelled for account '"
        " + variables.account + ', which is not a known account'"
        " : 'CAPA-C003: namespace ' + request.namespace + ' is labelled for account '"
        " + variables.account + ', whose namespace is '"
        " + variables.entry.namespaceName",
        "reason": "Forbidden",
    }


def _role_identity_validations() -> list[dict[str, str]]:
    kind, name = "variables.refKind", "variables.refName"
    other = f"!variables.checked || {kind} != '{ROLE_KIND}' || {name} == variables.expected"
    return [
        _namespace_validation(),
        # With CAPA's mutating webhook installed an omitted identityRef arrives here already
        # defaulted to `default` (controlplane/eks/webhooks/awsmanagedcontrolplane_webhook.go:
        # 673-678; mutating admission runs before validating) and is denied as C004; this
        # check covers a cluster where that webhook is absent or skipped.
        {
            "expression": f"!variables.checked || {kind} != ''",
            "message": "CAPA-C001: spec.identityRef is missing",
            "messageExpression": "'CAPA-C001: spec.identityRef is missing: "
            "CAPA would use the controller identity "
            f"default (the management account); set it to {ROLE_KIND} ' + variables.expected",
            "reason": "Forbidden",
        },
        {
            "expression": f"!variables.checked || {kind} == '' || {kind} == '{ROLE_KIND}'",
            "message": "CAPA-C004: identityRef must name the account's AWSClusterRoleIdentity",
            "messageExpression": f"'CAPA-C004: identityRef points at ' + {kind} + ' ' + {name}"
            f" + ({kind} == '{CONTROLLER_KIND}'"
            " ? ' (the controller identity: the credentials of the management account)'"
            " : ' (a static identity: long-lived keys)')"
            f" + '; account ' + variables.account + ' must use {ROLE_KIND} '"
            " + variables.expected",
            "reason": "Forbidden",
        },
        # Another account's identity exists in the rendered set, so this is not C002; what is
        # wrong is that its allowedNamespaces (that account's namespace only) do not admit this
        # namespace, which is C003's meaning. CAPA itself would only fail later, at reconcile.
        {
            "expression": f"{other} || size(variables.owners) == 0",
            "message": "CAPA-C003: identityRef names another account's identity",
            "messageExpression": f"'CAPA-C003: identityRef names ' + {name}"
            " + ', the identity of account '"
            " + variables.owners[0] + ', which does not admit namespace ' + request.namespace"
            " + '; use ' + variables.expected",
            "reason": "Forbidden",
        },
        # A name no account renders is C002: the identity does not exist in the rendered set.
        {
            "expression": f"{other} || size(variables.owners) > 0",
            "message": "CAPA-C002: identityRef names an identity that is not rendered",
            "messageExpression": f"'CAPA-C002: identityRef names {ROLE_KIND} ' + {name}"
            " + ', which no account renders; use ' + variables.expected",
            "reason": "Forbidden",
        },
    ]


def _operator_validations() -> list[dict[str, str]]:
    kind, name = "variables.refKind", "variables.refName"
    return [
        _namespace_validation(),
        # Operator mode renders no role or static identities (DESIGN.md "Credentials modes"), so
        # any identityRef but `default` names an identity outside the rendered set: C002. C001
        # and C004 do not apply in this mode; an absent identityRef is defaulted to `default`.
        {
            "expression": f"!variables.checked || {kind} == ''"
            f" || ({kind} == '{CONTROLLER_KIND}' && {name} == '{CONTROLLER_NAME}')",
            "message": "CAPA-C002: in operator mode identityRef must be the controller identity",
            "messageExpression": f"'CAPA-C002: identityRef points at ' + {kind} + ' ' + {name}"
            " + ', which operator mode does not render; control planes use the provider"
            f" credentials of their account through {CONTROLLER_KIND} {CONTROLLER_NAME}'",
            "reason": "Forbidden",
        },
        # Without the label the account's own provider ignores the control plane, and an
        # unfiltered provider would reconcile it with another account's keys.
        {
            "expression": "!variables.checked || variables.watchFilter == variables.account",
            "message": f"CAPA-O002: the {WATCH_FILTER_LABEL} label must name the account",
            "messageExpression": "variables.watchFilter == ''"
            f" ? 'CAPA-O002: label {WATCH_FILTER_LABEL} is missing; it must be '"
            " + variables.account"
            f" : 'CAPA-O002: label {WATCH_FILTER_LABEL} is ' + variables.watchFilter"
            " + '; it must be ' + variables.account",
            "reason": "Forbidden",
        },
    ]


# oldObject is null on CREATE (Kubernetes API reference, Validation.expression); `has` on both
# sides first, because comparing a present field with an absent one is an error, not false.
_CHANGES = (
    "request.operation != 'UPDATE'"
    " || has(object.spec) != has(oldObject.spec)"
    " || (has(object.spec) && object.spec != oldObject.spec)"
    " || has(object.metadata.labels) != has(oldObject.metadata.labels)"
    " || (has(object.metadata.labels) && object.metadata.labels != oldObject.metadata.labels)"
)


def _resource_rules() -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for group, resource, _kind in GUARDED_KINDS:
        groups.setdefault(group, []).append(resource)
    return [
        {
            "apiGroups": [group],
            # v1beta1 of these CRDs is `served: false` or deprecated; matchPolicy Equivalent
            # converts a request made through any other served version to v1beta2 before the
            # expressions see it, so they always read the v1beta2 shape (a `*` version would not).
            "apiVersions": ["v1beta2"],
            "operations": ["CREATE", "UPDATE"],
            "resources": sorted(resources),
            "scope": "Namespaced",
        }
        for group, resources in sorted(groups.items())
    ]


def _checked_accounts(accounts: Sequence[AccountBinding]) -> list[AccountBinding]:
    seen: set[str] = set()
    for a in accounts:
        for what, value, pattern in (
            ("account", a.account, _DNS_LABEL),
            ("namespace", a.namespace, _DNS_LABEL),
            ("identity", a.identity, _DNS_SUBDOMAIN),
        ):
            if not pattern.match(value):
                raise ConfigError(f"admission policy: {what} {value!r} is not a valid name")
        if a.account in seen:
            raise ConfigError(f"admission policy: account {a.account!r} is listed twice")
        seen.add(a.account)
    return sorted(accounts, key=lambda a: a.account)


def _management_condition(namespaces: Sequence[str]) -> list[dict[str, str]]:
    """The management account's own namespaces (accounts.yaml management.namespaces) are not
    judged: their clusters use `default`, the management account's credentials, on purpose.

    Without this, the management cluster's own AWSManagedControlPlane, moved there by
    `clusterctl move` (cluster-api docs/book/src/clusterctl/commands/move.md), would be denied
    every spec update CAPA makes to it. ``check`` still judges those objects.
    """
    for namespace in namespaces:
        if not _DNS_LABEL.match(namespace):
            raise ConfigError(f"admission policy: namespace {namespace!r} is not a valid name")
    if not namespaces:
        return []
    listed = ", ".join(table.cel(n) for n in sorted(set(namespaces)))
    return [{"name": "not-management", "expression": f"!(request.namespace in [{listed}])"}]


def admission_objects(
    accounts: Sequence[AccountBinding],
    credentials: str,
    *,
    management_namespaces: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding for these accounts, as plain dicts.

    ``credentials`` is ``roleIdentity`` or ``operator``; ``management_namespaces`` hold the
    management account's own clusters, which the policy lets through. The output depends only
    on the input (accounts are sorted by name), so ``render --check`` sees no drift.
    """
    if credentials not in (ROLE_IDENTITY, OPERATOR):
        raise ConfigError(f"admission policy: unknown credentials mode {credentials!r}")
    ordered = _checked_accounts(accounts)
    validations = (
        _role_identity_validations() if credentials == ROLE_IDENTITY else _operator_validations()
    )
    labels = {"app.kubernetes.io/managed-by": "capa-accounts"}
    policy = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": dict(labels)},
        "spec": {
            # Fail closed: if the API server cannot evaluate the policy, no control plane is
            # admitted, rather than silently admitting one that points at the management
            # account's credentials.
            "failurePolicy": "Fail",
            "matchConstraints": {
                "matchPolicy": "Equivalent",
                "resourceRules": _resource_rules(),
            },
            # An UPDATE that leaves spec and labels as they were cannot change the credentials
            # CAPA picks (spec.identityRef, and the watch-filter label in operator mode): adding
            # or removing a finalizer, the deletionTimestamp the API server sets, annotations.
            # Skipping those keeps an object created before this policy (or while its account
            # was not enforced) deletable and lets CAPA patch its own finalizers; every other
            # write is checked. matchConditions run before the validations
            # (validating/plugin.go compilePolicy; matchconditions/matcher.go).
            "matchConditions": [
                {"name": "changes-credentials", "expression": _CHANGES},
                *_management_condition(management_namespaces),
            ],
            "variables": _variables(ordered, credentials),
            "validations": validations,
        },
    }
    size = len(json.dumps(policy, separators=(",", ":")).encode())
    if size > OBJECT_LIMIT_BYTES:
        raise ConfigError(
            f"admission policy: {len(ordered)} accounts make the policy {size} bytes,"
            f" over the {OBJECT_LIMIT_BYTES} bytes the API server can store"
        )
    binding = {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": dict(labels)},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
