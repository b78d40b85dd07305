"""cel-expr-python (the CEL project's C++ runtime) as a ValidatingAdmissionPolicy engine.

Every expression is compiled with the type checker on, in an environment declared as the API
server declares it (k8s.io/apiserver pkg/admission/plugin/cel/compile.go createEnvForOpts and
composition.go):

- ``object``, ``oldObject``: ``dyn`` (the API server declares them dyn as well; only its
  informational ``status.typeChecking`` uses the CRD schema);
- ``namespaceObject``: ``kubernetes.Namespace`` and ``request``: ``kubernetes.AdmissionRequest``,
  the object types of BuildNamespaceType / BuildRequestType, reproduced field by field as
  protobuf messages (an undeclared field is a compile error, as there);
- ``params``: ``dyn``, declared only when the policy has a ``paramKind`` (HasParams);
- ``variables``: each ``variables.<name>`` with the output type of its expression, declared
  only after that expression compiled, so a variable sees the earlier ones only (the API
  server's ``kubernetes.variables`` object type gains one field per compiled variable).

Libraries: the strings (version 2) and optional extensions, which the API server enables
(pkg/cel/environment/base.go); the Kubernetes libraries it adds (pkg/cel/library: lists, regex,
urls, quantity, ip, cidr, format, semver, authz) have no cel-expr-python implementation, so an
expression that used one would fail to compile here, not pass unchecked. ``authorizer`` is not
declared: the policy does not use it.

cel-expr-python takes no null for a message-typed variable, so a cluster-scoped request
(``namespaceObject`` null) runs in a second, equally type-checked environment where
``namespaceObject`` is ``dyn``.

Variables are lazy as the API server's (pkg/cel/lazy): an expression's activation holds the
variables it names, each evaluated on first use and reused; one whose evaluation failed is left
out, so reading it is an error and a branch that never reads it is unaffected.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings
from cel_harness import VARIABLE_REF, EvalError
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

T = cel.Type
_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"string": _F.TYPE_STRING, "bool": _F.TYPE_BOOL, "int": _F.TYPE_INT64}
_WELL_KNOWN = {
    "timestamp": ".google.protobuf.Timestamp",
    "dyn": ".google.protobuf.Value",
    "list(dyn)": ".google.protobuf.ListValue",
}

# BuildNamespaceType and BuildRequestType, field by field ("list:" a list of, "map:" string to).
_TYPES: dict[str, dict[str, str]] = {
    "NamespaceSpec": {"finalizers": "list:string"},
    "NamespaceCondition": {
        "status": "string",
        "type": "string",
        "lastTransitionTime": "timestamp",
        "message": "string",
        "reason": "string",
    },
    "NamespaceStatus": {"conditions": "list:NamespaceCondition", "phase": "string"},
    "NamespaceMetadata": {
        "name": "string",
        "generateName": "string",
        "namespace": "string",
        "labels": "map:string",
        "annotations": "map:string",
        "UID": "string",
        "creationTimestamp": "timestamp",
        "deletionGracePeriodSeconds": "int",
        "deletionTimestamp": "timestamp",
        "generation": "int",
        "resourceVersion": "string",
        "finalizers": "list:string",
    },
    "Namespace": {
        "metadata": "NamespaceMetadata",
        "spec": "NamespaceSpec",
        "status": "NamespaceStatus",
    },
    "GroupVersionKind": {"group": "string", "version": "string", "kind": "string"},
    "GroupVersionResource": {"group": "string", "version": "string", "resource": "string"},
    # extra is map(string, list(string)); a protobuf map value cannot be repeated, so here it
    # is map(string, list(dyn)).
    "UserInfo": {
        "username": "string",
        "uid": "string",
        "groups": "list:string",
        "extra": "map:list(dyn)",
    },
    "AdmissionRequest": {
        "kind": "GroupVersionKind",
        "resource": "GroupVersionResource",
        "subResource": "string",
        "requestKind": "GroupVersionKind",
        "requestResource": "GroupVersionResource",
        "requestSubResource": "string",
        "name": "string",
        "namespace": "string",
        "operation": "string",
        "userInfo": "UserInfo",
        "dryRun": "bool",
        "options": "dyn",
    },
}


def _add_field(message: descriptor_pb2.DescriptorProto, number: int, name: str, spec: str) -> None:
    label = _F.LABEL_OPTIONAL
    if spec.startswith("map:"):
        entry = message.nested_type.add(name=name[0].upper() + name[1:] + "Entry")
        entry.options.map_entry = True
        _add_field(entry, 1, "key", "string")
        _add_field(entry, 2, "value", spec[4:])
        message.field.add(
            name=name,
            number=number,
            label=_F.LABEL_REPEATED,
            type=_F.TYPE_MESSAGE,
            type_name=f".kubernetes.{message.name}.{entry.name}",
        )
        return
    if spec.startswith("list:"):
        label, spec = _F.LABEL_REPEATED, spec[5:]
    if spec in _SCALARS:
        message.field.add(name=name, number=number, label=label, type=_SCALARS[spec])
    else:
        type_name = _WELL_KNOWN.get(spec, f".kubernetes.{spec}")
        message.field.add(
            name=name, number=number, label=label, type=_F.TYPE_MESSAGE, type_name=type_name
        )


@cache
def _pool() -> descriptor_pool.DescriptorPool:
    from google.protobuf import struct_pb2, timestamp_pb2

    pool = descriptor_pool.DescriptorPool()
    for module in (timestamp_pb2, struct_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    file = descriptor_pb2.FileDescriptorProto(
        name="kubernetes/admission.proto",
        package="kubernetes",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto", "google/protobuf/struct.proto"],
    )
    for type_name, fields in _TYPES.items():
        message = file.message_type.add(name=type_name)
        for number, (name, spec) in enumerate(fields.items(), start=1):
            _add_field(message, number, name, spec)
    pool.Add(file)
    return pool


def _message(type_name: str, value: dict[str, Any]) -> Any:
    cls = message_factory.GetMessageClass(_pool().FindMessageTypeByName(f"kubernetes.{type_name}"))
    # A namespace's fields the type does not declare (apiVersion, managedFields...) are
    # dropped, as the API server's CreateNamespaceObject drops them; a request field the type
    # does not declare is a mistake of the test.
    return json_format.ParseDict(value, cls(), ignore_unknown_fields=type_name == "Namespace")


class TypeCheckError(AssertionError):
    """An expression of the policy does not compile with type checking."""


class Compiled:
    """Every expression of one policy, compiled and type-checked in one environment."""

    def __init__(self, policy: dict[str, Any], namespace_type: Any) -> None:
        spec = policy["spec"]
        declared: dict[str, Any] = {
            "object": T.DYN,
            "oldObject": T.DYN,
            "namespaceObject": namespace_type,
            "request": T("kubernetes.AdmissionRequest"),
        }
        if "paramKind" in spec:
            declared["params"] = T.DYN
        self.programs: dict[str, Any] = {}
        self.types: dict[str, Any] = {}
        self.variables: dict[str, str] = {}
        for variable in spec.get("variables", []):
            where = f"variables.{variable['name']}"
            program = self._compile(declared, where, variable["expression"])
            declared[where] = program.return_type()
            self.types[where] = program.return_type()
            self.variables[variable["name"]] = variable["expression"]
        for condition in spec.get("matchConditions", []):
            self._compile(
                declared, f"matchConditions[{condition['name']}]", condition["expression"], T.BOOL
            )
        for index, validation in enumerate(spec["validations"]):
            self._compile(
                declared, f"validations[{index}].expression", validation["expression"], T.BOOL
            )
            if "messageExpression" in validation:
                self._compile(
                    declared,
                    f"validations[{index}].messageExpression",
                    validation["messageExpression"],
                    T.STRING,
                )

    def _compile(
        self, declared: dict[str, Any], where: str, expression: str, returns: Any = None
    ) -> Any:
        env = cel.NewEnv(
            _pool(),
            variables=dict(declared),
            extensions=[ext_strings.ExtStrings(2), ext_optional.ExtOptional()],
        )
        try:
            program = env.compile(expression)
        except RuntimeError as err:
            raise TypeCheckError(f"{where}: {err}") from None
        # The API server requires exactly this type, dyn is not enough (compile.go,
        # CompileCELExpression: OutputType().IsExactType of the accessor's ReturnTypes).
        if returns is not None and not program.return_type() == returns:
            raise TypeCheckError(
                f"{where}: must evaluate to {returns!r}, got {program.return_type()!r}"
            )
        self.programs[expression] = program
        return program


def _plain(value: Any) -> Any:
    if value.type() == T.ERROR:
        return EvalError(str(value.value()))
    return value.plain_value()


class _Bound:
    def __init__(self, compiled: Compiled, data: dict[str, Any]) -> None:
        self._compiled = compiled
        self._data = data
        self._values: dict[str, Any] = {}

    def variable(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._compiled.variables:
                return EvalError(f"no such variable {name}")
            self._values[name] = self.run(self._compiled.variables[name])
        return self._values[name]

    def run(self, expression: str) -> Any:
        data = dict(self._data)
        for name in dict.fromkeys(VARIABLE_REF.findall(expression)):
            value = self.variable(name)
            if not isinstance(value, EvalError):
                data[f"variables.{name}"] = value
        return _plain(self._compiled.programs[expression].eval(data=data))


@cache
def _compiled(policy_json: str, null_namespace: bool) -> Compiled:
    namespace_type = T.DYN if null_namespace else T("kubernetes.Namespace")
    return Compiled(json.loads(policy_json), namespace_type)


def compile_policy(policy: dict[str, Any], null_namespace: bool = False) -> Compiled:
    """Compile (and type-check) every expression, once per policy; raises TypeCheckError."""
    return _compiled(json.dumps(policy, sort_keys=True), null_namespace)


class CelExpr:
    name = "cel-expr-python"

    def bind(
        self,
        policy: dict[str, Any],
        *,
        obj: dict[str, Any] | None,
        old_obj: dict[str, Any] | None,
        namespace_obj: dict[str, Any] | None,
        request: dict[str, Any],
        params: Any = None,
    ) -> _Bound:
        compiled = compile_policy(policy, null_namespace=namespace_obj is None)
        data: dict[str, Any] = {
            "object": obj,
            "oldObject": old_obj,
            "namespaceObject": (
                None if namespace_obj is None else _message("Namespace", namespace_obj)
            ),
            "request": _message("AdmissionRequest", request),
        }
        if "paramKind" in policy["spec"]:
            data["params"] = params
        return _Bound(compiled, data)


cel_expr = CelExpr()
