"""Network rules: NSG rules open to the Internet, inline NSG rules and VNet subnets, delegated subnets without an NSG."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs

from brickwall_rules.base import Say, as_list, dig, resource_rule
from brickwall_rules.bastion import is_bastion_https_rule

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
    ["azure-native:network:SecurityRule"],
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
    ["azure-native:network:NetworkSecurityGroup"],
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
    ["azure-native:network:VirtualNetwork"],
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
    ["azure-native:network:Subnet"],
    _check_delegated_subnet,
)


RULES: list[Policy] = [
    NSG_NO_INTERNET_INBOUND,
    NSG_NO_INLINE_RULES,
    VNET_NO_INLINE_SUBNETS,
    DELEGATED_SUBNET_HAS_NSG,
]
