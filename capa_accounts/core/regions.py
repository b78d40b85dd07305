"""The AWS regions of each partition: the one table every command checks a region against.

Source: the partitions file the AWS SDKs resolve endpoints with, aws/aws-sdk-js-v3
packages/util-endpoints/src/lib/aws/partitions.json at commit
685ff5d03588f81121c6fa9466771cd444492209 (the same file ships as
internal/endpoints/awsrulesfn/partitions.json in aws-sdk-go-v2 and as botocore's
data/partitions.json); the pseudo-regions ``aws-global`` and ``aws-<partition>-global`` are left
out, as no EKS cluster runs there. A region name only has to match a pattern to pass the
AWSManagedControlPlane CRD, so ``eu-wset-1`` is accepted by the API server and fails only when
CAPA calls CreateCluster. A region launched after ``TABLE_DATE`` is refused until this table
names it: update the rows and the date together.
"""

from __future__ import annotations

TABLE_DATE = "2026-12-06"

REGIONS: dict[str, tuple[str, ...]] = {
    "aws": (
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ),
    "aws-cn": ("cn-north-1", "cn-northwest-1"),
    "aws-us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "aws-iso": ("us-iso-east-1", "us-iso-west-1"),
    "aws-iso-b": ("us-isob-east-1",),
    "aws-iso-e": ("eu-isoe-west-1",),
    "aws-iso-f": ("us-isof-east-1", "us-isof-south-1"),
    "aws-eusc": ("eusc-de-east-1",),
}

PARTITION_OF: dict[str, str] = {
    region: partition for partition, names in REGIONS.items() for region in names
}


def refusal(region: object, partition: str | None = None) -> str:
    """Why ``region`` is not a region of ``partition`` (any partition when None), or ""."""
    if not isinstance(region, str):
        return f"{region!r} is not a region name"
    home = PARTITION_OF.get(region)
    if home is not None and (partition is None or home == partition):
        return ""
    if home is not None:
        return (
            f"{region!r} is a region of partition {home}, not of {partition}: "
            f"use one of {', '.join(REGIONS.get(partition or '', ()))}"
        )
    choices = REGIONS.get(partition, ()) if partition else tuple(PARTITION_OF)
    hint = f"did you mean {close!r}? " if (close := _closest(region.lower(), choices)) else ""
    where = f"partition {partition}" if partition else "any AWS partition"
    return (
        f"{region!r} is not a region of {where}: {hint}(AWS region list of {TABLE_DATE}; "
        "EKS would fail only at CreateCluster)"
    )


def _closest(region: str, choices: tuple[str, ...]) -> str | None:
    """Two letters swapped (`us-esat-1`) first, as difflib ranks a swap below a substitution."""
    swapped = [c for c in choices if sorted(c) == sorted(region)]
    if len(swapped) == 1:
        return swapped[0]
    from capa_accounts.core.suggest import close

    found = close(region, choices, n=1, cutoff=0.6)
    return found[0] if found else None
