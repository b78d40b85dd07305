"""The admission policy's budget at fleet scale: size, CEL cost and evaluation time.

The ``accounts`` variable is a map literal with one entry per account, so the policy grows
with the fleet. For each size (a generated fleet, accounts named ``acct-00000``...), this
prints, against the smallest size measured in the same run:

- the size of ``admission-policy.yaml`` as render writes it and of the policy as compact JSON
  (what the API server stores), against etcd's default request limit of 1.5 MiB
  (etcd server/embed/config.go DefaultMaxRequestBytes), and the longest expression;
- cel-python evaluation steps of the costliest expression and of the whole decision (a
  stand-in for CEL's runtime cost, see tests/cel_harness.py ``Steps``), against the API
  server's per-expression limit and per-binding budget (k8s.io/apiserver pkg/apis/cel/config.go
  PerCallLimit 1,000,000 and RuntimeCELCostBudget 10,000,000);
- compile-and-type-check time of the whole policy with cel-expr-python (the API server
  compiles a policy once, when it changes), and the time of one admission decision on each
  engine, for an admitted request and for the costliest denial (another account's identity:
  the message names the owner, found by lookups in the table).

Usage: ``python benchmarks/admission_budget.py [--sizes 30,300,1000] [--runs 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cel_harness import (  # noqa: E402 - the test harness is a sibling tree
    PER_CALL_LIMIT,
    RUNTIME_BUDGET,
    admission_request,
    cel_python,
    counting_steps,
    decide,
)
from cel_official import Compiled, cel_expr  # noqa: E402
from cel_official import T as CelType  # noqa: E402

from capa_accounts.core.yamldump import dump_documents  # noqa: E402
from capa_accounts.kustomize_plugin.admission import (  # noqa: E402
    ACCOUNT_LABEL,
    AccountBinding,
    admission_objects,
)

ETCD_LIMIT = int(1.5 * 1024 * 1024)


def fleet(size: int) -> list[AccountBinding]:
    return [
        AccountBinding(f"acct-{i:05d}", f"acct-{i:05d}", f"acct-{i:05d}-identity")
        for i in range(size)
    ]


def requests(size: int) -> dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(object, namespace, request) of an admitted and of the costliest denied CREATE."""
    own, other = "acct-00000", f"acct-{size - 1:05d}"
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": own, "labels": {ACCOUNT_LABEL: own}},
    }

    def obj(identity: str) -> dict[str, Any]:
        return {
            "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
            "kind": "AWSManagedControlPlane",
            "metadata": {"name": "cp", "namespace": own},
            "spec": {"identityRef": {"kind": "AWSClusterRoleIdentity", "name": identity}},
        }

    out = {}
    for name, identity in (("admitted", f"{own}-identity"), ("denied", f"{other}-identity")):
        o = obj(identity)
        out[name] = (o, ns, admission_request("CREATE", o, own))
    return out


def median_seconds(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, runs: int) -> dict[str, float]:
    policy, binding = admission_objects(fleet(size), "roleIdentity")
    expressions = [v["expression"] for v in policy["spec"]["variables"]]
    figures: dict[str, float] = {
        "policy YAML bytes": len(dump_documents([policy, binding]).encode()),
        "policy JSON bytes": len(json.dumps(policy, separators=(",", ":")).encode()),
        "longest expression bytes": max(len(e.encode()) for e in expressions),
        "account-table literals": sum(
            v["name"].startswith(("accounts", "identities")) for v in policy["spec"]["variables"]
        ),
    }
    cases = requests(size)
    for name, (obj, ns, request) in cases.items():
        with counting_steps() as steps:
            decision = decide(
                policy,
                cel_python.bind(policy, obj=obj, old_obj=None, namespace_obj=ns, request=request),
            )
        if decision.admitted != (name == "admitted"):
            raise SystemExit(f"the policy decided {name} wrongly: {decision}")
        figures[f"steps, costliest expression ({name})"] = max(steps.by_expression.values())
        figures[f"steps, whole decision ({name})"] = sum(steps.by_expression.values())
    figures["compile + type-check, s (cel-expr-python)"] = median_seconds(
        lambda: Compiled(policy, CelType("kubernetes.Namespace")), max(1, runs // 2)
    )
    for engine in (cel_expr, cel_python):
        for name, (obj, ns, request) in cases.items():

            def once(
                engine: Any = engine, obj: Any = obj, ns: Any = ns, request: Any = request
            ) -> None:
                decide(
                    policy,
                    engine.bind(policy, obj=obj, old_obj=None, namespace_obj=ns, request=request),
                )

            once()  # warm: the engines' compile caches, as the API server's
            figures[f"decision, s, {name} ({engine.name})"] = median_seconds(once, runs)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300,1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="sizes 3,30, one run")
    args = parser.parse_args(argv)
    sizes = [3, 30] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    results = {size: measure(size, runs) for size in sizes}
    base = sizes[0]
    print(f"admission policy budget; baseline: {base} accounts, same run; {runs} run(s), median")
    header = ["measure"] + [f"{s}" for s in sizes] + [f"x at {s}/{base}" for s in sizes[1:]]
    lines = [header]
    for key in results[base]:
        row = [key]
        for size in sizes:
            value = results[size][key]
            row.append(f"{value:.4f}" if ", s" in key else f"{value:,.0f}")
        for size in sizes[1:]:
            before = results[base][key]
            row.append(f"{results[size][key] / before:.1f}" if before else "")
        lines.append(row)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    largest = results[sizes[-1]]
    within = [
        ("policy JSON under etcd's 1.5 MiB", largest["policy JSON bytes"], ETCD_LIMIT),
        (
            "costliest expression under PerCallLimit",
            largest["steps, costliest expression (denied)"],
            PER_CALL_LIMIT,
        ),
        (
            "whole decision under RuntimeCELCostBudget",
            largest["steps, whole decision (denied)"],
            RUNTIME_BUDGET,
        ),
    ]
    ok = True
    for label, value, limit in within:
        ok &= value < limit
        print(
            f"{sizes[-1]} accounts: {label}: {value:,.0f} / {limit:,} = {value / limit:.1%}"
            f" {'holds' if value < limit else 'MISS'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
