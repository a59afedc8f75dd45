"""Network rules: NSG rules open to the Internet, inline NSG rules and VNet subnets, delegated subnets without an NSG, and
the private-endpoint subnet's NSG admitting each client only to the endpoint classes it needs (by application security
group), with TDS open from the cluster subnets to the SQL endpoint (components/planning/data_paths.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import (
    PRIVATE_ENDPOINT,
    TIER_CONFIG,
    WORKSPACE,
    Say,
    arm_key,
    as_list,
    dig,
    endpoint_groups,
    of_type,
    resource_rule,
    stack_rule,
    stack_tier,
)
from brickwall_rules.bastion import is_bastion_https_rule
from components.planning.data_paths import BACKEND, CONNECTOR_PORTS, MONITOR, SQL_PORTS

# Ports an Internet-facing rule must never open on Databricks or ingress subnets.
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP", 443: "HTTPS", 5557: "Databricks control plane"}
SENSITIVE_RANGES = {(8443, 8451): "Databricks control plane / Unity Catalog"}
OPEN_SOURCES = {"*", "internet", "0.0.0.0/0", "0.0.0.0", "any", "::/0"}


def port_ranges(values: Iterable[Any]) -> list[tuple[int, int]]:
    ranges = []
    for value in values:
        text = str(value).strip()
        if text in ("*", ""):
            ranges.append((0, 65535))
            continue
        low, _, high = text.partition("-")
        try:
            ranges.append((int(low), int(high or low)))
        except ValueError:
            continue
    return ranges


def exposed_sensitive(ranges: list[tuple[int, int]]) -> list[str]:
    hits = [f"{port} ({what})" for port, what in SENSITIVE_PORTS.items() if any(lo <= port <= hi for lo, hi in ranges)]
    hits += [f"{a}-{b} ({what})" for (a, b), what in SENSITIVE_RANGES.items() if any(lo <= b and a <= hi for lo, hi in ranges)]
    return hits


def _security_rule_open(rule: Any, where: str, report: Say) -> None:
    if str(dig(rule, "direction", "")).lower() != "inbound" or str(dig(rule, "access", "")).lower() != "allow":
        return
    sources = [dig(rule, "sourceAddressPrefix"), *as_list(dig(rule, "sourceAddressPrefixes"))]
    open_sources = sorted({str(s) for s in sources if s is not None and str(s).lower() in OPEN_SOURCES})
    if not open_sources:
        return
    ports = [p for p in [dig(rule, "destinationPortRange"), *as_list(dig(rule, "destinationPortRanges"))] if p is not None]
    ranges = port_ranges(ports) or [(0, 65535)]
    sensitive = exposed_sensitive(ranges)
    detail = f"; exposes {', '.join(sensitive)}" if sensitive else ""
    message = (f"{where} allows inbound traffic from {', '.join(open_sources)} to port(s) {', '.join(map(str, ports)) or '*'}{detail}")
    report(message)


def _check_security_rule(args: ResourceValidationArgs, report: Say) -> None:
    if is_bastion_https_rule(args.props):  # Azure Bastion's required 443; placement checked by brickwall_rules.bastion
        return
    _security_rule_open(args.props, f"security rule {dig(args.props, 'securityRuleName') or args.name!r}", report)


NSG_NO_INTERNET_INBOUND = resource_rule(
    "nsg-no-internet-inbound",
    "No NSG security rule allows inbound traffic from the Internet, * or 0.0.0.0/0 "
    "(SSH 22, RDP 3389, HTTPS 443, control plane 5557 and 8443-8451 included).",
    "Restrict sourceAddressPrefix(es) to the VNet, a named CIDR or a service tag, or make the rule Deny; Databricks "
    "secure cluster connectivity needs no inbound rule from the Internet.",
    [az.SECURITY_RULE.token],
    _check_security_rule,
)


def _check_nsg_inline(args: ResourceValidationArgs, report: Say) -> None:
    rules = as_list(dig(args.props, "securityRules"))
    if rules:
        names = ", ".join(str(dig(r, "name", "?")) for r in rules)
        report(f"network security group carries {len(rules)} inline security rule(s) ({names})")
        for rule in rules:
            _security_rule_open(rule, f"inline security rule {dig(rule, 'name', '?')!r}", report)


NSG_NO_INLINE_RULES = resource_rule(
    "nsg-no-inline-rules",
    "Network security groups carry no inline securityRules, so the rules Databricks injects are never fought or deleted.",
    "Move each rule to a standalone azure-native:network:SecurityRule resource and drop securityRules from the NSG.",
    [az.NETWORK_SECURITY_GROUP.token],
    _check_nsg_inline,
)


def _check_vnet_inline(args: ResourceValidationArgs, report: Say) -> None:
    subnets = as_list(dig(args.props, "subnets"))
    if subnets:
        report(f"virtual network declares {len(subnets)} inline subnet(s) ({', '.join(str(dig(s, 'name', '?')) for s in subnets)})")


VNET_NO_INLINE_SUBNETS = resource_rule(
    "vnet-no-inline-subnets",
    "Virtual networks declare no inline subnets: inline and standalone subnets replace each other on every update.",
    "Declare every subnet as a standalone azure-native:network:Subnet resource and drop subnets from the VNet.",
    [az.VIRTUAL_NETWORK.token],
    _check_vnet_inline,
)


def _check_delegated_subnet(args: ResourceValidationArgs, report: Say) -> None:
    delegations = as_list(dig(args.props, "delegations"))
    if delegations and not dig(args.props, "networkSecurityGroup.id"):
        services = ", ".join(str(dig(d, "serviceName", "?")) for d in delegations)
        report(f"subnet {dig(args.props, 'subnetName') or args.name!r} is delegated to {services} without a network security group")


DELEGATED_SUBNET_HAS_NSG = resource_rule(
    "delegated-subnet-has-nsg",
    "Every delegated subnet (Databricks host/container) has a network security group associated.",
    "Set networkSecurityGroup.id on the subnet to the workspace NSG.",
    [az.SUBNET.token],
    _check_delegated_subnet,
)


SUBNET, NSG_RULE = az.SUBNET.token, az.SECURITY_RULE.token
VNET = az.VIRTUAL_NETWORK.token
DATABRICKS_DELEGATION = "microsoft.databricks/workspaces"
WORKSPACE_API = "databricks_ui_api"  # the back-end endpoint's group id
# The endpoints the ingress tier's AKS nodes may reach, by group id: the workspace API (connectors) and the Azure
# Monitor Private Link Scope (the Container Insights agent), each on its CONNECTOR_PORTS (data_paths.py).
NON_CLUSTER_GROUPS = {WORKSPACE_API: BACKEND, "azuremonitor": MONITOR}


def _subnet_key(subnet: PolicyResource) -> str:
    p = subnet.props
    return arm_key(f"/resourceGroups/{dig(p, 'resourceGroupName', '')}/providers/Microsoft.Network/virtualNetworks/"
                   f"{dig(p, 'virtualNetworkName', '')}/subnets/{dig(p, 'subnetName') or subnet.name}")


def _rule_nsg_key(rule: PolicyResource) -> str:
    p = rule.props
    return arm_key(f"/resourceGroups/{dig(p, 'resourceGroupName', '')}/providers/Microsoft.Network/networkSecurityGroups/"
                   f"{dig(p, 'networkSecurityGroupName', '')}")


def _covers(ports: list[tuple[int, int]], lo: int, hi: int) -> bool:
    return any(a <= lo and hi <= b for a, b in ports)


def _check_endpoint_subnet_nsg(args: StackValidationArgs, report: Say) -> None:
    subnets = {_subnet_key(s): s for s in of_type(args, SUBNET)}
    clusters = {str(dig(s.props, "addressPrefix")) for s in subnets.values()
                if any(str(dig(d, "serviceName", "")).lower() == DATABRICKS_DELEGATION for d in as_list(dig(s.props, "delegations")))}
    by_nsg: dict[str, list[PolicyResource]] = {}
    for pe in of_type(args, PRIVATE_ENDPOINT):
        subnet = subnets.get(arm_key(dig(pe.props, "subnet.id")))
        nsg = arm_key(dig(subnet.props, "networkSecurityGroup.id")) if subnet else ""
        if nsg:  # endpoints in a subnet without an NSG of ours (the transit VNet's) are outside this rule
            by_nsg.setdefault(nsg, []).append(pe)
    for nsg, endpoints in by_nsg.items():
        members: dict[str, list[PolicyResource]] = {}
        for pe in endpoints:
            asgs = [arm_key(dig(g, "id")) for g in as_list(dig(pe.props, "applicationSecurityGroups"))]
            if not asgs:
                report(f"private endpoint {dig(pe.props, 'privateEndpointName') or pe.name!r} joins no application security group: "
                       "its subnet's NSG cannot admit clients to it apart from the other endpoints", pe.urn)
            for asg in asgs:
                members.setdefault(asg, []).append(pe)
        rules = [r for r in of_type(args, NSG_RULE) if _rule_nsg_key(r) == nsg and str(dig(r.props, "direction", "")).lower() == "inbound"
                 and str(dig(r.props, "access", "")).lower() == "allow"]
        for rule in rules:
            p, name = rule.props, dig(rule.props, "securityRuleName") or rule.name
            prefixes = [d for d in [dig(p, "destinationAddressPrefix"), *as_list(dig(p, "destinationAddressPrefixes"))] if d is not None]
            if prefixes:
                report(f"security rule {name!r} admits to addresses {', '.join(map(str, prefixes))} on a private-endpoint subnet, so to "
                       "every endpoint in it: name the endpoint class's application security group instead", rule.urn)
            sources = {str(x) for x in [dig(p, "sourceAddressPrefix"), *as_list(dig(p, "sourceAddressPrefixes"))] if x is not None}
            if sources and sources <= clusters:
                continue  # the workspace's cluster subnets: they may reach every class the design has
            ports = port_ranges([x for x in [dig(p, "destinationPortRange"), *as_list(dig(p, "destinationPortRanges"))] if x is not None])
            for asg in [arm_key(dig(g, "id")) for g in as_list(dig(p, "destinationApplicationSecurityGroups"))]:
                for pe in members.get(asg, []):
                    groups = sorted({g for g, _ in endpoint_groups(pe.props)})
                    classes = {NON_CLUSTER_GROUPS.get(g, "") for g in groups}
                    (cls,) = classes if len(classes) == 1 else ("",)
                    allowed = port_ranges(CONNECTOR_PORTS[cls]) if cls else []
                    if not allowed or not all(_covers(allowed, lo, hi) for lo, hi in ports):
                        report(f"security rule {name!r} lets {', '.join(sorted(sources))} reach private endpoint "
                               f"{dig(pe.props, 'privateEndpointName') or pe.name!r} ({', '.join(groups)}) on "
                               f"{', '.join(map(str, ports))}: outside the cluster subnets only the workspace API and the Azure "
                               "Monitor scope's ingestion are reachable, on 443", rule.urn)
        # Azure SQL: TDS from every cluster subnet to the SQL endpoint, 1433 and the Redirect range over private link.
        (lo, hi), = port_ranges(SQL_PORTS)
        for pe in endpoints:
            if "sqlServer" not in {g for g, _ in endpoint_groups(pe.props)}:
                continue
            sql_asgs = {arm_key(dig(g, "id")) for g in as_list(dig(pe.props, "applicationSecurityGroups"))}
            admitted: set[str] = set()
            for rule in rules:
                p = rule.props
                ports = port_ranges([x for x in [dig(p, "destinationPortRange"), *as_list(dig(p, "destinationPortRanges"))] if x is not None])
                targets = {arm_key(dig(g, "id")) for g in as_list(dig(p, "destinationApplicationSecurityGroups"))}
                if targets & sql_asgs and str(dig(p, "protocol", "")).lower() in ("tcp", "*") and _covers(ports, lo, hi):
                    admitted |= {str(x) for x in [dig(p, "sourceAddressPrefix"), *as_list(dig(p, "sourceAddressPrefixes"))] if x is not None}
            missing = sorted(clusters - admitted)
            if missing:
                report(f"the cluster subnets {', '.join(missing)} cannot reach the SQL endpoint "
                       f"{dig(pe.props, 'privateEndpointName') or pe.name!r} on TDS {SQL_PORTS[0]} (1433, and Redirect's range over "
                       "private link)", pe.urn)


PRIVATE_ENDPOINT_NSG_BY_CLASS = stack_rule(
    "private-endpoint-nsg-by-class",
    "The private-endpoint subnet's NSG admits by application security group, never to the whole subnet; only the cluster "
    "subnets reach the data endpoints (the AKS nodes reach the workspace API and the Azure Monitor scope on 443 only), and the cluster subnets reach "
    "the SQL endpoint on TDS 1433-65535.",
    "Keep the endpoint rules from components/planning/nsg_rules.py (private_endpoint_subnet_rules): one rule per endpoint "
    "class naming its application security group, each private endpoint in its class's group.",
    _check_endpoint_subnet_nsg,
)


MANAGED_CLUSTER, AGENT_POOL = az.MANAGED_CLUSTER.token, az.AGENT_POOL.token


def _prefixes(props: Any, one: str, many: str) -> list[str]:
    return [str(x) for x in [dig(props, one), *as_list(dig(props, many))] if x is not None]


def _reaches(prefix: str, cidr: str) -> bool:
    """Whether a rule's destination entry takes in part of `cidr` (a tag that may stand for the VNet counts)."""
    if prefix.lower() in ("*", "virtualnetwork"):
        return True
    try:
        return ipaddress.ip_network(prefix, strict=False).overlaps(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return False


def _check_aks_subnet_closed(args: StackValidationArgs, report: Say) -> None:
    subnets = {_subnet_key(s): s for s in of_type(args, SUBNET)}
    pool_subnets = {arm_key(dig(pool, "vnetSubnetID")) for c in of_type(args, MANAGED_CLUSTER) for pool in as_list(dig(c.props, "agentPoolProfiles"))}
    pool_subnets |= {arm_key(dig(p.props, "vnetSubnetID")) for p in of_type(args, AGENT_POOL)}
    for key in sorted(k for k in pool_subnets if k in subnets):
        aks = subnets[key]
        vnet = (dig(aks.props, "resourceGroupName"), dig(aks.props, "virtualNetworkName"))
        clusters = sorted(str(dig(s.props, "addressPrefix")) for s in subnets.values()
                          if (dig(s.props, "resourceGroupName"), dig(s.props, "virtualNetworkName")) == vnet
                          and any(str(dig(d, "serviceName", "")).lower() == DATABRICKS_DELEGATION for d in as_list(dig(s.props, "delegations"))))
        if not clusters:
            continue
        name = dig(aks.props, "subnetName") or aks.name
        nsg = arm_key(dig(aks.props, "networkSecurityGroup.id"))
        if not nsg:
            report(f"AKS subnet {name!r} has no network security group: its pods and nodes reach the Databricks cluster subnets "
                   f"{', '.join(clusters)} (the workspace NSG admits VirtualNetwork at priority 100)", aks.urn)
            continue
        outbound = sorted((r for r in of_type(args, NSG_RULE) if _rule_nsg_key(r) == nsg
                           and str(dig(r.props, "direction", "")).lower() == "outbound"), key=lambda r: int(dig(r.props, "priority", 65000)))
        for cidr in clusters:
            first = next((r for r in outbound if any(_reaches(d, cidr) for d in _prefixes(r.props, "destinationAddressPrefix",
                                                                                                "destinationAddressPrefixes"))), None)
            closed = first is not None and str(dig(first.props, "access", "")).lower() == "deny" \
                and str(dig(first.props, "protocol", "")) == "*" \
                and _prefixes(first.props, "destinationPortRange", "destinationPortRanges") == ["*"] \
                and any(_is_cidr(d) and ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(d, strict=False))  # type: ignore[arg-type]
                        for d in _prefixes(first.props, "destinationAddressPrefix", "destinationAddressPrefixes"))
            if not closed:
                what = f"rule {dig(first.props, 'securityRuleName') or first.name!r} decides first" if first else "no rule of its NSG names it"
                report(f"AKS subnet {name!r} is not closed outbound to the Databricks cluster subnet {cidr} on every port and protocol "
                       f"({what}); the workspace NSG cannot close it (Databricks' VirtualNetwork rule at priority 100)", aks.urn)


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


AKS_SUBNET_CLOSED_TO_CLUSTERS = stack_rule(
    "aks-subnet-closed-to-clusters",
    "An AKS subnet in the workspace VNet has its own NSG whose first outbound rule towards each Databricks cluster subnet "
    "denies every port and protocol: pods (Azure CNI) and nodes never reach cluster nodes, whatever Databricks injects.",
    "Associate the AKS subnet with the NSG from components/planning/nsg_rules.py (aks_subnet_rules), whose "
    "deny-databricks-clusters-outbound precedes every allow.",
    _check_aks_subnet_closed,
)


def _workspace_vnets(args: StackValidationArgs) -> list[PolicyResource]:
    """The VNets a workspace is injected into (its customVirtualNetworkId parameter), matched by ARM key."""
    wanted = {arm_key(dig(w.props, "parameters.customVirtualNetworkId.value")) for w in of_type(args, WORKSPACE)}
    found = []
    for vnet in of_type(args, VNET):
        rg = dig(vnet.props, "resourceGroupName", "")
        name = dig(vnet.props, "virtualNetworkName") or dig(vnet.props, "name") or vnet.name
        key = arm_key(dig(vnet.props, "id") or f"/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{name}")
        if key in wanted:
            found.append(vnet)
    return found


def _check_vnet_encryption(args: StackValidationArgs, report: Say) -> None:
    vnets = _workspace_vnets(args)
    if not vnets or stack_tier(args) != "prod":
        return
    for vnet in vnets:
        if dig(vnet.props, "encryption.enabled") is not True:
            report(f"workspace VNet {dig(vnet.props, 'virtualNetworkName') or vnet.name!r} does not have Azure Virtual "
                   "Network encryption enabled: traffic between cluster nodes crosses it unencrypted", vnet.urn)


VNET_ENCRYPTION_IN_PROD = stack_rule(
    "network-vnet-encryption-in-prod",
    "In prod, the workspace VNet has Azure Virtual Network encryption enabled (encryption.enabled), so traffic between "
    "cluster nodes of supported VM sizes is encrypted by the Azure hosts.",
    "Keep network.vnet_encryption.enabled in prod (a tier floor) and cluster policies on supported VM sizes "
    "(components/planning/vnet_encryption.py; https://learn.microsoft.com/azure/virtual-network/virtual-network-encryption-overview).",
    _check_vnet_encryption,
    config_schema=TIER_CONFIG,
)


RULES: list[Policy] = [
    NSG_NO_INTERNET_INBOUND,
    NSG_NO_INLINE_RULES,
    VNET_NO_INLINE_SUBNETS,
    DELEGATED_SUBNET_HAS_NSG,
    PRIVATE_ENDPOINT_NSG_BY_CLASS,
    AKS_SUBNET_CLOSED_TO_CLUSTERS,
    VNET_ENCRYPTION_IN_PROD,
]
