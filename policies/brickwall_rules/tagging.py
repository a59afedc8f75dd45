"""Tagging rule (advisory): taggable azure-native resources carry the environment's required tags."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import Policy, ResourceValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import ADVISORY, Say, dig, resource_rule

REQUIRED_TAGS = ("environment", "tier", "managed-by")
# azure-native types whose ARM schema has no `tags` (children and extension resources): the Azure type catalog's
# `taggable`, cited there per type. A type outside the catalog is held to the rule.
UNTAGGABLE = frozenset(entry.token for entry in az.ENTRIES if not entry.taggable)


def _check_tags(args: ResourceValidationArgs, report: Say) -> None:
    tags = dig(args.props, "tags") or {}
    missing = [t for t in REQUIRED_TAGS if not (isinstance(tags, Mapping) and tags.get(t))]
    if missing:
        report(f"{args.resource_type} {args.name!r} is missing required tag(s): {', '.join(missing)}")


REQUIRED_TAGS_POLICY = resource_rule(
    "azure-required-tags",
    f"Taggable azure-native resources carry the tags {', '.join(REQUIRED_TAGS)}.",
    "Pass the environment's common tags (components' `tags` argument) to the resource.",
    lambda t: t.startswith("azure-native:") and t not in UNTAGGABLE,
    _check_tags,
    level=ADVISORY,
)


RULES: list[Policy] = [
    REQUIRED_TAGS_POLICY,
]
