"""Tagging rule (advisory): taggable azure-native resources carry the environment's required tags."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import Policy, ResourceValidationArgs

from brickwall_rules.base import ADVISORY, Say, dig, resource_rule

REQUIRED_TAGS = ("environment", "tier", "managed-by")
# azure-native child resources that carry no tags of their own.
UNTAGGABLE = frozenset({
    "azure-native:network:Subnet",
    "azure-native:network:SecurityRule",
    "azure-native:network:Route",
    "azure-native:network:PrivateDnsZoneGroup",
    "azure-native:network:VirtualNetworkPeering",
    # A firewall policy's rule collection group is a child without tags in ARM.
    "azure-native:network:FirewallPolicyRuleCollectionGroup",
    # Storage sub-resources (blob service settings, containers) carry no tags in ARM.
    "azure-native:storage:BlobServiceProperties",
    "azure-native:storage:BlobContainer",
    # Azure SQL server settings (auditing, threat detection) carry no tags in ARM.
    "azure-native:sql:ServerBlobAuditingPolicy",
    "azure-native:sql:ServerSecurityAlertPolicy",
    # Extension resources (role assignments, locks) have no tags in ARM.
    "azure-native:authorization:RoleAssignment",
    "azure-native:authorization:ManagementLockByScope",
    # Audit: diagnostic settings (extension resources), an event hub and a data export rule (children) take no tags.
    "azure-native:monitor:DiagnosticSetting",
    "azure-native:eventhub:EventHub",
    "azure-native:operationalinsights:DataExport",
    # An Event Hub namespace's network rule set and a private link scope's scoped resource are children without tags
    # (their ARM schemas list no `tags`).
    "azure-native:eventhub:NamespaceNetworkRuleSet",
    "azure-native:monitor:PrivateLinkScopedResource",
    # A data collection rule association is an extension resource of the cluster; its ARM schema lists no `tags`.
    "azure-native:monitor:DataCollectionRuleAssociation",
    # A managed identity's federated identity credential is a child without tags (its 2023-01-31 ARM schema lists
    # no `tags`).
    "azure-native:managedidentity:FederatedIdentityCredential",
})


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
