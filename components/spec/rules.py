"""Cross-field rules: what no single section can check on its own."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from components.planning.addresses import parse_network
from components.spec.errors import Problem
from components.spec.tiers import floor_problems

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec


def cross_field_problems(spec: EnvironmentSpec) -> list[Problem]:
    problems = [Problem(path, reason) for path, reason in floor_problems(spec)]
    ws, pl, net = spec.workspace, spec.private_link, spec.network

    if ws.required_nsg_rules == "NoAzureDatabricksRules" and not pl.backend:
        problems.append(Problem(("private_link", "backend"),
                                "requiredNsgRules NoAzureDatabricksRules needs a back-end private endpoint: "
                                "without it clusters cannot reach the control plane"))
    if ws.public_network_access == "Disabled":
        if ws.required_nsg_rules != "NoAzureDatabricksRules":
            problems.append(Problem(("workspace", "required_nsg_rules"),
                                    "public network access Disabled needs NoAzureDatabricksRules (Azure rejects AllRules here)"))
        if not pl.frontend:
            problems.append(Problem(("private_link", "frontend"),
                                    "public network access Disabled needs a front-end private endpoint, or nobody can reach the workspace"))
        if pl.browser_authentication == "none":
            problems.append(Problem(("private_link", "browser_authentication"),
                                    "public network access Disabled needs a browser-authentication endpoint, or SSO logins fail"))
    if pl.browser_authentication != "none" and not pl.frontend:
        problems.append(Problem(("private_link", "browser_authentication"),
                                "a browser-authentication endpoint serves private front-end logins; enable private_link.frontend too"))
    if (pl.frontend or pl.browser_authentication != "none") and pl.transit is None:
        problems.append(Problem(("private_link", "transit"),
                                "front-end and browser-authentication endpoints live in a transit VNet: "
                                "give transit.address_space or an existing VNet"))
    if ws.default_storage_firewall and not pl.workspace_storage:
        problems.append(Problem(("workspace", "default_storage_firewall"),
                                "the workspace storage firewall needs private_link.workspace_storage (dfs and blob endpoints), "
                                "or clusters lose their storage"))
    if pl.workspace_storage and not pl.backend:
        problems.append(Problem(("private_link", "workspace_storage"),
                                "workspace-storage endpoints share the back-end private-endpoint subnet; enable private_link.backend"))

    if pl.transit is not None and pl.transit.address_space is not None:
        transit = parse_network(pl.transit.address_space)
        vnet = parse_network(net.address_space)
        if transit.overlaps(vnet):
            problems.append(Problem(("private_link", "transit", "address_space"),
                                    f"{transit} overlaps the workspace VNet {vnet}"))
        elif transit.prefixlen > pl.transit.private_endpoint_prefix_length:
            problems.append(Problem(("private_link", "transit", "address_space"),
                                    f"{transit} cannot hold a /{pl.transit.private_endpoint_prefix_length} endpoint subnet"))

    if net.egress.mode == "firewall" and net.egress.firewall_private_ip is not None:
        ip = net.egress.firewall_private_ip
        for name in ("host", "container"):
            if ipaddress.IPv4Address(ip) in net.plan[name]:
                problems.append(Problem(("network", "egress", "firewall_private_ip"),
                                        f"{ip} is inside the {name} subnet {net.plan[name]}; the firewall must sit outside the workspace subnets"))

    problems += spec.name_problems()
    return problems
