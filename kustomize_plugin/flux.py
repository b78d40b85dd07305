"""The Flux objects render writes: one ``Kustomization`` per overlay, and ``.sourceignore``.

Flux's kustomize-controller builds each path with builtins only (fluxcd/pkg
kustomize/kustomize_generator.go), which is why the overlays are rendered plain.
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core import layout
from capa_accounts.core.fluxsource import FluxSettings, flux_path
from capa_accounts.core.model import MANAGEMENT, OPERATOR, ROLE_IDENTITY, Account
from capa_accounts.core.resources import FLUX_KUSTOMIZE_API, OPERATOR_API

API_VERSION = FLUX_KUSTOMIZE_API
DEFAULTS = FluxSettings()
# Operator mode: where the user's SOPS-encrypted Secrets are decrypted at apply time
# (https://fluxcd.io/flux/guides/mozilla-sops/): the age key as a Secret in flux-system.
SOPS_AGE = "sops-age"
PROVIDERS_DIR = layout.PROVIDERS
# The admission policy and its binding: a directory of its own under overlays/management, so that
# no account name can collide with it, applied by a Kustomization of its own (see below).
ADMISSION_DIR = f"{MANAGEMENT}/admission-policy"
ADMISSION_KUSTOMIZATION = f"capa-{MANAGEMENT}-admission-policy"


# `wait: true` alone does not wait for CAPA: kstatus judges a custom resource by
# status.observedGeneration and its Reconciling/Stalled conditions only (kubernetes-sigs/cli-utils
# pkg/kstatus/status/generic.go), and the operator patches observedGeneration on its first
# reconcile, which only adds its finalizer (cluster-api-operator
# internal/controller/genericprovider_controller.go, Reconcile). The provider's Ready condition
# is what follows the CAPA Deployment's Available condition (internal/controller/healthcheck/
# healthcheck_controller.go; clusterv1.ReadyCondition). Flux evaluates healthCheckExprs only
# with wait or healthChecks, after its own observedGeneration check (fluxcd/pkg
# runtime/cel/status_evaluator.go); kustomize-controller v1.5.0 (Flux v2.5) added the field
# (api/v1/kustomization_types.go, HealthCheckExprs). `exists`, not `all`: a provider with no
# Ready condition yet is not ready; `has` first: the first status has no conditions. (Before
# the first status the expression fails to evaluate, which Flux reads as Unknown and keeps
# waiting: fluxcd/pkg ssa/manager_wait.go.) No `failed`: Ready is False while CAPA rolls out.
PROVIDER_HEALTH = {
    "apiVersion": OPERATOR_API,
    "kind": "InfrastructureProvider",
    "current": "has(status.conditions)"
    " && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
}


def kustomization_name(overlay: str) -> str:
    return f"capa-{overlay}"


def provider_kustomization_name(account: Account) -> str:
    return kustomization_name(f"{account.name}-provider")


def _kustomization(
    name: str, directory: str, settings: FluxSettings, prefix: str, **spec: Any
) -> dict[str, Any]:
    """A Kustomization of ``directory`` (repository-relative), whose path Flux resolves from
    the source root (``prefix``: where the repository is in it, core/fluxsource.py)."""
    body: dict[str, Any] = {
        "interval": settings.interval,
        "path": flux_path(prefix, directory),
        "prune": True,
        **spec,
        "sourceRef": settings.source_ref(),
    }
    if settings.retry_interval is not None:
        body["retryInterval"] = settings.retry_interval
    if settings.timeout is not None:
        body["timeout"] = settings.timeout
    return {
        "apiVersion": API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": settings.namespace},
        "spec": body,
    }


def management_kustomization(
    credentials: str = ROLE_IDENTITY, settings: FluxSettings = DEFAULTS, prefix: str = ""
) -> dict[str, Any]:
    # CAPA's webhook rejects every change to the spec of `default`
    # (webhooks/awsclustercontrolleridentity_webhook.go:96-98); with force Flux
    # recreates it when the account list changes instead of failing every sync.
    doc = _kustomization(
        kustomization_name(MANAGEMENT), layout.overlay(MANAGEMENT), settings, prefix, force=True
    )
    if credentials == OPERATOR and settings.retry_interval is None:
        # `default` needs CAPA's CRDs, which in this mode only the providers install (through
        # the operator, after their own Kustomizations): the first applies fail with "no
        # matches for kind" until then, so retry soon rather than after the interval. No
        # dependsOn on the providers: one account's broken provider must not block the others.
        doc["spec"]["retryInterval"] = "1m"
    return doc


def admission_kustomization(settings: FluxSettings = DEFAULTS, prefix: str = "") -> dict[str, Any]:
    """The admission policy and its binding, apart from `default` and without ``force``.

    With ``force: true`` kustomize-controller deletes and recreates every object whose patch
    fails as Invalid (422) or Conflict (fluxcd/pkg ssa/utils IsImmutableError, used by the
    apply of ``spec.force``, kustomize-controller docs "spec.force"): a policy update the API
    server rejects would delete the policy and leave the account namespaces unguarded until a
    fixed one is applied. The policy has no immutable field, so it needs no force; a rejected
    update leaves the running policy in place and the Kustomization not Ready.
    """
    return _kustomization(ADMISSION_KUSTOMIZATION, layout.overlay(ADMISSION_DIR), settings, prefix)


def account_kustomization(
    account: Account, admission: bool = True, settings: FluxSettings = DEFAULTS, prefix: str = ""
) -> dict[str, Any]:
    # Removing an account from git must never delete a running EKS cluster, nor the
    # identity CAPA needs to delete one: objects are orphaned, decommissioning is manual.
    doc = _kustomization(
        kustomization_name(account.name),
        layout.overlay(account.name),
        settings,
        prefix,
        deletionPolicy="Orphan",
        dependsOn=[{"name": kustomization_name(MANAGEMENT)}],
    )
    if admission:
        # The account's clusters are created only once the policy that guards them is applied.
        doc["spec"]["dependsOn"].append({"name": ADMISSION_KUSTOMIZATION})
    if account.credentials == OPERATOR:
        # The clusters wait for their own provider: its webhooks must answer their creation.
        doc["spec"]["dependsOn"].append({"name": provider_kustomization_name(account)})
    return doc


def provider_kustomization(
    account: Account, settings: FluxSettings = DEFAULTS, prefix: str = ""
) -> dict[str, Any]:
    """Operator mode: the account's provider, its namespace and the user's encrypted Secret.

    A stage of its own: the provider installs CAPA's CRDs, so the account's clusters cannot be
    in the same Kustomization (kustomize-controller dry-runs every object before applying
    any, and fails on a kind that has no CRD yet). It is Ready only once CAPA runs, which the
    clusters depend on: see PROVIDER_HEALTH.
    """
    # Removing an account must not remove the CAPA that can delete its clusters.
    return _kustomization(
        provider_kustomization_name(account),
        f"{PROVIDERS_DIR}/{account.name}",
        settings,
        prefix,
        deletionPolicy="Orphan",
        wait=True,
        healthCheckExprs=[dict(PROVIDER_HEALTH)],
        decryption={"provider": "sops", "secretRef": {"name": SOPS_AGE}},
    )


# In a .sourceignore of the user's own, render keeps its lines between these two.
SOURCEIGNORE_BEGIN = "# >>> capa-accounts: render writes the lines down to the end marker"
SOURCEIGNORE_END = "# <<< capa-accounts"

SOURCEIGNORE = """\
# Not Kubernetes objects: clusterawsadm input and the tool's own configuration.
/bootstrap/
/accounts.yaml
/base/
"""


def merged_sourceignore(current: str) -> str | None:
    """The user's own ``.sourceignore`` with render's block (between the markers) in place or
    appended, every other line kept; None when a start marker has no end marker.

    Patterns of a ``.sourceignore`` apply below its directory (fluxcd/pkg
    sourceignore/sourceignore.go LoadIgnorePatterns, commit 23cf50f6: the directory is the
    patterns' domain), so ``/bootstrap/`` means this repository's, in a monorepo folder too.
    """
    block = f"{SOURCEIGNORE_BEGIN}\n{SOURCEIGNORE}{SOURCEIGNORE_END}\n"
    lines = current.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == SOURCEIGNORE_BEGIN]
    if not starts:
        text = current if not current or current.endswith("\n") else current + "\n"
        return text + ("\n" if text else "") + block
    begin = starts[0]
    ends = [
        i for i, line in enumerate(lines) if i > begin and line.rstrip("\r\n") == SOURCEIGNORE_END
    ]
    if not ends:
        return None
    return "".join(lines[:begin]) + block + "".join(lines[ends[0] + 1 :])
