"""Schemas of Flux's ``Kustomization`` (kustomize.toolkit.fluxcd.io/v1) and ``GitRepository``
(source.toolkit.fluxcd.io/v1).

Complete for ``spec``, as the tool writes Kustomizations under ``clusters/management/`` and a
mistake there (``prune: "yes"``, ``deletionPolicy: orphan``) makes Flux reject the object.
Sources: fluxcd/kustomize-controller ``api/v1/kustomization_types.go`` and
fluxcd/source-controller ``api/v1/gitrepository_types.go``, whose generated CRDs are
``config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml`` and
``config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml``. The CEL rules of the CRDs
(kubeConfig needs exactly one of configMapRef/secretRef; a GitRepository's
serviceAccountName needs provider aws or azure) are in ``cel_rules``, not here.
"""

from __future__ import annotations

from capa_accounts.core.resources import FLUX_KUSTOMIZE_API, FLUX_SOURCE_API
from capa_accounts.core.schema.core import (
    NAME_REF,
    Schema,
    array,
    boolean,
    obj,
    resource,
    string,
    string_list,
    string_map,
)

KUSTOMIZE_API = FLUX_KUSTOMIZE_API
SOURCE_API = FLUX_SOURCE_API

# metav1.Duration as Flux restricts it (fluxcd/pkg apis/meta: "^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$").
DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"

# kustomize.Selector (fluxcd/pkg apis/kustomize).
_SELECTOR: Schema = obj(
    {
        "annotationSelector": string(),
        "group": string(),
        "kind": string(),
        "labelSelector": string(),
        "name": string(),
        "namespace": string(),
        "version": string(),
    }
)

KUSTOMIZATION_SPEC: Schema = obj(
    {
        "buildMetadata": array(string(enum=["originAnnotations", "transformerAnnotations"])),
        "commonMetadata": obj({"annotations": string_map(), "labels": string_map()}),
        "components": string_list(),
        # Decryption: only SOPS exists.
        "decryption": obj(
            {
                "provider": string(enum=["sops"]),
                "secretRef": NAME_REF,
                "serviceAccountName": string(),
            },
            "provider",
        ),
        # Orphan keeps the objects when the Kustomization is deleted: the account overlays use it
        # so that removing an account never deletes a running EKS cluster.
        "deletionPolicy": string(enum=["MirrorPrune", "Delete", "WaitForTermination", "Orphan"]),
        "dependsOn": array(
            obj({"name": string(), "namespace": string(), "readyExpr": string()}, "name")
        ),
        "force": boolean(),
        "healthCheckExprs": array(
            obj(
                {
                    "apiVersion": string(),
                    "current": string(),
                    "failed": string(),
                    "inProgress": string(),
                    "kind": string(),
                },
                "apiVersion",
                "current",
            )
        ),
        "healthChecks": array(
            obj(
                {
                    "apiVersion": string(),
                    "kind": string(),
                    "name": string(),
                    "namespace": string(),
                },
                "kind",
                "name",
            )
        ),
        "ignore": array(obj({"paths": string_list(), "target": _SELECTOR}, "paths")),
        "ignoreMissingComponents": boolean(),
        "images": array(
            obj(
                {
                    "digest": string(),
                    "name": string(),
                    "newName": string(),
                    "newTag": string(),
                },
                "name",
            )
        ),
        "interval": string(pattern=DURATION),
        "kubeConfig": obj(
            {
                "configMapRef": NAME_REF,
                "secretRef": obj({"key": string(), "name": string()}, "name"),
            }
        ),
        "namePrefix": string(minLength=1, maxLength=200),
        "nameSuffix": string(minLength=1, maxLength=200),
        "patches": array(obj({"patch": string(), "target": _SELECTOR}, "patch")),
        "path": string(),
        "postBuild": obj(
            {
                "substitute": string_map(),
                "substituteFrom": array(
                    obj(
                        {
                            "kind": string(enum=["Secret", "ConfigMap"]),
                            "name": string(minLength=1, maxLength=253),
                            "optional": boolean(),
                        },
                        "kind",
                        "name",
                    )
                ),
                "substituteStrategy": string(enum=["WithVariables", "Always"]),
            }
        ),
        "prune": boolean(),
        "retryInterval": string(pattern=DURATION),
        "serviceAccountName": string(),
        "sourceRef": obj(
            {
                "apiVersion": string(),
                "kind": string(
                    enum=["OCIRepository", "GitRepository", "Bucket", "ExternalArtifact"]
                ),
                "name": string(),
                "namespace": string(),
            },
            "kind",
            "name",
        ),
        "suspend": boolean(),
        "targetNamespace": string(minLength=1, maxLength=63),
        "timeout": string(pattern=DURATION),
        "wait": boolean(),
    },
    "interval",
    "prune",
    "sourceRef",
)

KUSTOMIZATION: Schema = resource(KUSTOMIZATION_SPEC)

GIT_REPOSITORY_SPEC: Schema = obj(
    {
        "ignore": string(),
        "include": array(
            obj(
                {
                    "fromPath": string(),
                    "repository": NAME_REF,
                    "toPath": string(),
                },
                "repository",
            )
        ),
        "interval": string(pattern=DURATION),
        "provider": string(enum=["generic", "aws", "azure", "github"]),
        "proxySecretRef": NAME_REF,
        "recurseSubmodules": boolean(),
        "ref": obj(
            {
                "branch": string(),
                "commit": string(),
                "name": string(),
                "semver": string(),
                "tag": string(),
            }
        ),
        "secretRef": NAME_REF,
        "serviceAccountName": string(),
        "sparseCheckout": string_list(),
        "suspend": boolean(),
        # A git timeout has no hours unit (source-controller gitrepository_types.go).
        "timeout": string(pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"),
        "url": string(pattern=r"^(http|https|ssh)://.*$"),
        "verify": obj(
            {
                "mode": string(enum=["head", "HEAD", "Tag", "TagAndHEAD"]),
                "secretRef": NAME_REF,
            },
            "secretRef",
        ),
    },
    "interval",
    "url",
)

GIT_REPOSITORY: Schema = resource(GIT_REPOSITORY_SPEC)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (KUSTOMIZE_API, "Kustomization"): KUSTOMIZATION,
    (SOURCE_API, "GitRepository"): GIT_REPOSITORY,
}
