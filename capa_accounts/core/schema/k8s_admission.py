"""Schemas of ``admissionregistration.k8s.io/v1`` ValidatingAdmissionPolicy and its binding.

Hand-written from the Kubernetes API reference (reference/kubernetes-api/policy-resources/
validating-admission-policy-v1, k8s.io/api/admissionregistration/v1/types.go). These are
built-in kinds: the API server decodes them into Go structs, so with strict field validation
(server-side apply, as Flux uses) an unknown field is rejected; every object here is closed.
Enums and "Required." fields are the ones the reference lists; rules that live only in Go
validation code (``*`` alone in a list, Deny with Warn, unique set members) are not repeated.
"""

from __future__ import annotations

from capa_accounts.core.schema.core import (
    LABEL_SELECTOR,
    OBJECT_META,
    Schema,
    array,
    obj,
    resource,
    string,
    string_list,
)

API_VERSION = "admissionregistration.k8s.io/v1"

# The reference: "The message must not contain line breaks."
_ONE_LINE = r"^[^\r\n]*$"  # RE2, as the API server: $ is the end of the text
# Qualified name: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] with an optional DNS subdomain
# prefix and '/' (MatchCondition.name, AuditAnnotation.key).
_QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
# Variable.name "must be a valid CEL identifier".
_CEL_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

# NamedRuleWithOperations: the reference marks apiGroups, apiVersions, operations and
# resources "Required." (the API server's validation rejects a rule without them).
NAMED_RULE_WITH_OPERATIONS: Schema = obj(
    {
        "apiGroups": string_list(),
        "apiVersions": string_list(),
        "operations": array(string(enum=["CREATE", "UPDATE", "DELETE", "CONNECT", "*"])),
        "resources": string_list(),
        "resourceNames": string_list(),
        "scope": string(enum=["Cluster", "Namespaced", "*"]),
    },
    "apiGroups",
    "apiVersions",
    "operations",
    "resources",
)

MATCH_RESOURCES: Schema = obj(
    {
        "excludeResourceRules": array(NAMED_RULE_WITH_OPERATIONS),
        "matchPolicy": string(enum=["Exact", "Equivalent"]),
        "namespaceSelector": LABEL_SELECTOR,
        "objectSelector": LABEL_SELECTOR,
        "resourceRules": array(NAMED_RULE_WITH_OPERATIONS),
    }
)

VALIDATION: Schema = obj(
    {
        "expression": string(minLength=1),
        "message": string(pattern=_ONE_LINE),
        "messageExpression": string(),
        # "The currently supported reasons are ..."; others fail the API server's validation.
        "reason": string(enum=["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"]),
    },
    "expression",
)

AUDIT_ANNOTATION: Schema = obj(
    {
        "key": string(pattern=_QUALIFIED_NAME, maxLength=63),
        "valueExpression": string(minLength=1, maxLength=5 * 1024),  # "no longer than 5kb"
    },
    "key",
    "valueExpression",
)

MATCH_CONDITION: Schema = obj(
    {
        "name": string(pattern=_QUALIFIED_NAME),
        "expression": string(minLength=1),
    },
    "name",
    "expression",
)

VARIABLE: Schema = obj(
    {
        "name": string(pattern=_CEL_IDENTIFIER),
        "expression": string(minLength=1),
    },
    "name",
    "expression",
)

POLICY_SPEC: Schema = obj(
    {
        "auditAnnotations": array(AUDIT_ANNOTATION),
        "failurePolicy": string(enum=["Fail", "Ignore"]),
        "matchConditions": array(MATCH_CONDITION, maxItems=64),  # "a maximum of 64"
        "matchConstraints": MATCH_RESOURCES,
        "paramKind": obj({"apiVersion": string(), "kind": string()}),
        "validations": array(VALIDATION),
        "variables": array(VARIABLE),
    },
    "matchConstraints",
)

PARAM_REF: Schema = obj(
    {
        "name": string(),
        "namespace": string(),
        "parameterNotFoundAction": string(enum=["Allow", "Deny"]),
        "selector": LABEL_SELECTOR,
    }
)

BINDING_SPEC: Schema = obj(
    {
        "matchResources": MATCH_RESOURCES,
        "paramRef": PARAM_REF,
        "policyName": string(minLength=1),
        "validationActions": array(string(enum=["Deny", "Warn", "Audit"]), minItems=1),
    },
    "policyName",
    "validationActions",
)


def _kind(kind: str, spec: Schema, *, status: bool) -> Schema:
    schema = resource(spec, status=status, spec_required=True)
    schema["properties"] = {
        **schema["properties"],
        "apiVersion": string(enum=[API_VERSION]),
        "kind": string(enum=[kind]),
        "metadata": OBJECT_META,
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return schema


SCHEMAS: dict[tuple[str, str], Schema] = {
    (API_VERSION, "ValidatingAdmissionPolicy"): _kind(
        "ValidatingAdmissionPolicy", POLICY_SPEC, status=True
    ),
    # The binding has no status.
    (API_VERSION, "ValidatingAdmissionPolicyBinding"): _kind(
        "ValidatingAdmissionPolicyBinding", BINDING_SPEC, status=False
    ),
}
