"""Private Link and DNS rules: back-end and browser-authentication endpoints, DNS zone groups, zone links."""

from __future__ import annotations

import re

from pulumi_policy import Policy, PolicyResource, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import (
    PRIVATE_ENDPOINT,
    WORKSPACE,
    Say,
    arm_key,
    as_list,
    dig,
    endpoint_groups,
    is_serverless,
    of_type,
    stack_rule,
    vnet_of_subnet,
    workspace_key,
)

ZONE_GROUP = az.PRIVATE_DNS_ZONE_GROUP.token
PRIVATE_ZONE = az.PRIVATE_DNS_ZONE.token
VNET_LINK = az.PRIVATE_DNS_ZONE_LINK.token


def _check_backend_endpoint(args: StackValidationArgs, report: Say) -> None:
    endpoints = [(r, endpoint_groups(r.props)) for r in of_type(args, PRIVATE_ENDPOINT)]
    for ws in of_type(args, WORKSPACE):
        if str(dig(ws.props, "requiredNsgRules", "")) != "NoAzureDatabricksRules":
            continue
        key = workspace_key(ws)
        vnet = arm_key(dig(ws.props, "parameters.customVirtualNetworkId.value", ""))
        found = [
            pe for pe, groups in endpoints
            if ("databricks_ui_api", key) in groups and (not vnet or vnet_of_subnet(dig(pe.props, "subnet.id")) == vnet)
        ]
        if not found:
            report("requiredNsgRules is NoAzureDatabricksRules but no databricks_ui_api private endpoint in the workspace VNet "
                   "targets this workspace: clusters cannot reach the control plane", ws.urn)


NSG_RULES_NEED_BACKEND = stack_rule(
    "databricks-no-nsg-rules-needs-backend-endpoint",
    "A workspace with requiredNsgRules NoAzureDatabricksRules has a back-end (databricks_ui_api) private endpoint in its VNet.",
    "Add a private endpoint with groupIds ['databricks_ui_api'] targeting the workspace in the workspace VNet's "
    "endpoint subnet, or set requiredNsgRules to 'AllRules'.",
    _check_backend_endpoint,
)


def _check_browser_auth(args: StackValidationArgs, report: Say) -> None:
    has_webauth = any(g == "browser_authentication" for pe in of_type(args, PRIVATE_ENDPOINT) for g, _ in endpoint_groups(pe.props))
    if has_webauth:
        return
    for ws in of_type(args, WORKSPACE):
        if not is_serverless(ws.props) and str(dig(ws.props, "publicNetworkAccess", "Enabled")).lower() == "disabled":
            report("publicNetworkAccess is Disabled but the stack has no browser_authentication private endpoint: "
                   "browser single sign-on to the private front end fails", ws.urn)


PRIVATE_FRONT_END_NEEDS_WEBAUTH = stack_rule(
    "private-front-end-needs-browser-auth",
    "A workspace with a private front end (publicNetworkAccess Disabled) has a browser_authentication private endpoint.",
    "Add a private endpoint with groupIds ['browser_authentication'] (on this workspace or a dedicated "
    "WEBAUTH_DO_NOT_DELETE_<REGION> workspace) in the transit VNet, with its DNS zone group.",
    _check_browser_auth,
)


# --- private endpoints and DNS -------------------------------------------------------------------------------


def _zone_groups_by_endpoint(args: StackValidationArgs) -> dict[tuple[str, str], list[PolicyResource]]:
    groups: dict[tuple[str, str], list[PolicyResource]] = {}
    for zg in of_type(args, ZONE_GROUP):
        key = (str(dig(zg.props, "resourceGroupName", "")).lower(), str(dig(zg.props, "privateEndpointName", "")).lower())
        groups.setdefault(key, []).append(zg)
    return groups


def _endpoint_key(pe: PolicyResource) -> tuple[str, str]:
    return (str(dig(pe.props, "resourceGroupName", "")).lower(), str(dig(pe.props, "privateEndpointName") or pe.name).lower())


def _check_zone_groups(args: StackValidationArgs, report: Say) -> None:
    groups = _zone_groups_by_endpoint(args)
    for pe in of_type(args, PRIVATE_ENDPOINT):
        if _endpoint_key(pe) not in groups:
            report(f"private endpoint {_endpoint_key(pe)[1]!r} has no private DNS zone group: its name resolves to the public IP", pe.urn)


ENDPOINT_HAS_ZONE_GROUP = stack_rule(
    "private-endpoint-has-dns-zone-group",
    "Every private endpoint has a private DNS zone group, so its FQDN resolves to the private IP.",
    "Add an azure-native:network:PrivateDnsZoneGroup for the endpoint pointing at the matching privatelink.* zone.",
    _check_zone_groups,
)


def _check_zone_links(args: StackValidationArgs, report: Say) -> None:
    zones = {
        (str(dig(z.props, "resourceGroupName", "")).lower(), str(dig(z.props, "privateZoneName") or z.name).lower()): z
        for z in of_type(args, PRIVATE_ZONE)
    }
    links = {
        (str(dig(link.props, "resourceGroupName", "")).lower(), str(dig(link.props, "privateZoneName", "")).lower(),
         arm_key(dig(link.props, "virtualNetwork.id")))
        for link in of_type(args, VNET_LINK)
    }
    groups = _zone_groups_by_endpoint(args)
    for pe in of_type(args, PRIVATE_ENDPOINT):
        vnet = vnet_of_subnet(dig(pe.props, "subnet.id"))
        for zg in groups.get(_endpoint_key(pe), []):
            for config in as_list(dig(zg.props, "privateDnsZoneConfigs")):
                zone_id = arm_key(dig(config, "privateDnsZoneId"))
                match = re.match(r"/resourcegroups/([^/]+)/providers/microsoft\.network/privatednszones/([^/]+)$", zone_id)
                if not match or (match.group(1), match.group(2)) not in zones:
                    continue  # a zone this stack does not manage: its links are someone else's
                if (match.group(1), match.group(2), vnet) not in links:
                    report(f"private DNS zone {match.group(2)!r} (resource group {match.group(1)}) used by private endpoint "
                           f"{_endpoint_key(pe)[1]!r} has no virtual network link to {vnet.rsplit('/', 1)[-1]!r}",
                           zones[(match.group(1), match.group(2))].urn)


ZONE_LINKED_TO_ENDPOINT_VNETS = stack_rule(
    "private-dns-zone-linked-to-endpoint-vnets",
    "Every private DNS zone is linked to each VNet whose private endpoints register in it.",
    "Add an azure-native:privatedns:VirtualNetworkLink from the zone to the endpoint's VNet (registrationEnabled false).",
    _check_zone_links,
)


RULES: list[Policy] = [
    NSG_RULES_NEED_BACKEND,
    PRIVATE_FRONT_END_NEEDS_WEBAUTH,
    ENDPOINT_HAS_ZONE_GROUP,
    ZONE_LINKED_TO_ENDPOINT_VNETS,
]
