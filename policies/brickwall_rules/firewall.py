"""Firewall egress (components/firewall.py): a default route to a virtual appliance leads into a hub the VNet is peered
with both ways, lands inside a firewall subnet the stack creates (when it creates one), and the workspace's rule
collection group carries what Databricks needs (`components.planning.firewall.REQUIRED_DATABRICKS_TAGS`)."""

from __future__ import annotations

import ipaddress
from typing import Any

from pulumi_policy import Policy, PolicyResource, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import Say, arm_key, arm_key_for, as_list, dig, of_type, stack_rule
from components.planning.firewall import FIREWALL_SUBNET_NAME, REQUIRED_DATABRICKS_TAGS

ROUTE = az.ROUTE.token
SUBNET = az.SUBNET.token
PEERING = az.VIRTUAL_NETWORK_PEERING.token
RULE_COLLECTION_GROUP = az.FIREWALL_POLICY_RULE_COLLECTION_GROUP.token
DATABRICKS_DELEGATION = "microsoft.databricks/workspaces"


def _vnet_key(rg: Any, vnet: Any) -> str:
    return arm_key_for(az.VIRTUAL_NETWORK, rg, vnet)


def _route_table_key(rg: Any, table: Any) -> str:
    return arm_key_for(az.ROUTE_TABLE, rg, table)


def _network(value: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(value))
    except ValueError:
        return None


def _allowed(groups: list[PolicyResource], sources: list[str]) -> set[tuple[str, str]]:
    """(service tag without region, port) pairs that some Allow network rule opens for every one of `sources`."""
    found: set[tuple[str, str]] = set()
    for group in groups:
        for collection in as_list(dig(group.props, "ruleCollections")):
            if str(dig(collection, "action.type", "")).lower() != "allow":
                continue
            for rule in as_list(dig(collection, "rules")):
                if dig(rule, "ruleType") != "NetworkRule":
                    continue
                rule_sources = {str(s) for s in as_list(dig(rule, "sourceAddresses"))}
                if not ("*" in rule_sources or all(s in rule_sources for s in sources)):
                    continue
                for dest in as_list(dig(rule, "destinationAddresses")):
                    for port in as_list(dig(rule, "destinationPorts")):
                        found.add((str(dest).split(".")[0].lower(), str(port)))
    return found


def _check_firewall_egress(args: StackValidationArgs, report: Say) -> None:
    subnets = of_type(args, SUBNET)
    peerings = of_type(args, PEERING)
    groups = of_type(args, RULE_COLLECTION_GROUP)
    for route in of_type(args, ROUTE):
        props = route.props
        if dig(props, "addressPrefix") != "0.0.0.0/0" or dig(props, "nextHopType") != "VirtualAppliance":
            continue
        table = _route_table_key(dig(props, "resourceGroupName", ""), dig(props, "routeTableName", ""))
        users = [s for s in subnets if arm_key(dig(s.props, "routeTable.id")) == table]
        name = dig(props, "routeName") or route.name
        hop = ipaddress.IPv4Address(str(dig(props, "nextHopIpAddress") or "0.0.0.0"))
        for vnet in sorted({_vnet_key(dig(s.props, "resourceGroupName", ""), dig(s.props, "virtualNetworkName", "")) for s in users}):
            outbound = [p for p in peerings
                        if _vnet_key(dig(p.props, "resourceGroupName", ""), dig(p.props, "virtualNetworkName", "")) == vnet
                        and dig(p.props, "allowForwardedTraffic") is True]
            if not outbound:
                report(f"route {name!r} sends 0.0.0.0/0 to {hop} but {vnet} has no peering (allowing forwarded traffic) "
                       "to the hub that holds it", route.urn)
                continue
            hubs = {arm_key(dig(p.props, "remoteVirtualNetwork.id")) for p in outbound}
            back = [p for p in peerings if arm_key(dig(p.props, "remoteVirtualNetwork.id")) == vnet
                    and _vnet_key(dig(p.props, "resourceGroupName", ""), dig(p.props, "virtualNetworkName", "")) in hubs]
            if not back:
                report(f"{vnet} is peered to its hub one way only: the hub's side of the peering is missing", outbound[0].urn)
            firewall_subnets = [_network(dig(s.props, "addressPrefix")) for s in subnets
                                if str(dig(s.props, "subnetName", "")) == FIREWALL_SUBNET_NAME
                                and _vnet_key(dig(s.props, "resourceGroupName", ""), dig(s.props, "virtualNetworkName", "")) in hubs]
            if firewall_subnets and not any(net is not None and hop in net for net in firewall_subnets):
                report(f"route {name!r} sends 0.0.0.0/0 to {hop}, outside the hub's {FIREWALL_SUBNET_NAME} "
                       f"({', '.join(str(n) for n in firewall_subnets)})", route.urn)
        delegated = [str(dig(s.props, "addressPrefix")) for s in users
                     if any(str(dig(d, "serviceName", "")).lower() == DATABRICKS_DELEGATION for d in as_list(dig(s.props, "delegations")))]
        if not delegated:
            continue
        if not groups:
            report(f"route {name!r} sends the Databricks subnets to a firewall but the stack adds no rule collection group "
                   "to its policy", route.urn)
            continue
        allowed = _allowed(groups, delegated)
        missing = [f"{tag} {port}" for tag, ports in REQUIRED_DATABRICKS_TAGS.items() for port in ports
                   if (tag.lower(), port) not in allowed]
        if missing:
            report(f"the firewall rule collection group does not allow {', '.join(missing)} from the Databricks subnets "
                   f"({', '.join(delegated)}): clusters cannot start behind route {name!r}", groups[0].urn)


FIREWALL_EGRESS_THROUGH_HUB = stack_rule(
    "firewall-egress-through-hub",
    "A default route to a virtual appliance leads into a hub the VNet is peered with both ways (forwarded traffic "
    "allowed), lands inside the hub's AzureFirewallSubnet when the stack creates it, and the firewall policy's rule "
    "collection group lets the Databricks subnets reach Storage 443, Sql 3306 and EventHub 9093.",
    "Name the hub in network.egress.hub (or create it) so the toolkit peers the VNets and adds its rule collection group.",
    _check_firewall_egress,
)


RULES: list[Policy] = [FIREWALL_EGRESS_THROUGH_HUB]
