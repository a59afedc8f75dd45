"""Cross-field rules: what no single section can check on its own.

Each rule reads a few sections of the spec. When some sections are invalid, every rule whose
sections are valid still runs (`partial_problems`), so one bad section never hides the rest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from components.facts import CONTAINER, HOST
from components.planning.addresses import AddressPlanError, parse_network
from components.planning.bastion import transit_layout
from components.planning.firewall import DATABRICKS_REGIONAL_ENDPOINTS
from components.planning.ingress import MAX_ROUTES_PER_HOST, creates_aks
from components.planning.naming import name_problems, plan_names, slug
from components.spec.access import MAX_IP_ACCESS_VALUES
from components.spec.base import cidr_problem
from components.spec.errors import Problem
from components.spec.rules_compute import RULES as COMPUTE_RULES
from components.spec.rules_compute import compliance_advisories
from components.spec.rules_identity import IDENTITY_RULES, identity_advisories
from components.spec.rules_serverless import RULES as SERVERLESS_RULES
from components.spec.tiers import TIER_FLOORS

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec

Rule = Callable[[Any], list[Problem]]


def _floors(spec: EnvironmentSpec) -> list[Problem]:
    tier = spec.tier.value
    out = []
    for floor in TIER_FLOORS:
        if tier not in floor.tiers:
            continue
        try:
            holds = floor.holds(spec)
        except PARTIAL_DATA_ERRORS:
            continue
        if not holds:
            out.append(Problem(floor.path, floor.reason.format(tier=tier)))
    return out


def _nsg_mode(spec: EnvironmentSpec) -> list[Problem]:
    ws, pl = spec.workspace, spec.private_link
    problems = []
    if ws.required_nsg_rules == "NoAzureDatabricksRules" and not pl.backend:
        problems.append(Problem(("private_link", "backend"),
                                "requiredNsgRules NoAzureDatabricksRules needs a back-end private endpoint: "
                                "without it clusters cannot reach the control plane"))
    if ws.public_network_access == "Disabled" and ws.required_nsg_rules != "NoAzureDatabricksRules":
        problems.append(Problem(("workspace", "required_nsg_rules"),
                                "public network access Disabled needs NoAzureDatabricksRules (Azure rejects AllRules here)"))
    return problems


def _private_front_end(spec: EnvironmentSpec) -> list[Problem]:
    ws, pl = spec.workspace, spec.private_link
    problems = []
    if ws.public_network_access == "Disabled":
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
    return problems


def _workspace_storage(spec: EnvironmentSpec) -> list[Problem]:
    ws, pl = spec.workspace, spec.private_link
    problems = []
    if ws.default_storage_firewall and not pl.workspace_storage:
        problems.append(Problem(("workspace", "default_storage_firewall"),
                                "the workspace storage firewall needs private_link.workspace_storage (dfs and blob endpoints), "
                                "or clusters lose their storage"))
    if pl.workspace_storage and not pl.backend:
        problems.append(Problem(("private_link", "workspace_storage"),
                                "workspace-storage endpoints share the back-end private-endpoint subnet; enable private_link.backend"))
    return problems


def _transit_range(spec: EnvironmentSpec) -> list[Problem]:
    transit_spec = spec.private_link.transit
    if transit_spec is None or transit_spec.address_space is None:
        return []
    transit, vnet = parse_network(transit_spec.address_space), parse_network(spec.network.address_space)
    path = ("private_link", "transit", "address_space")
    if transit.overlaps(vnet):
        return [Problem(path, f"{transit} overlaps the workspace VNet {vnet}")]
    if transit.prefixlen > transit_spec.private_endpoint_prefix_length:
        return [Problem(path, f"{transit} cannot hold a /{transit_spec.private_endpoint_prefix_length} endpoint subnet")]
    return []


def _egress_mode(spec: EnvironmentSpec) -> list[Problem]:
    """What each egress mode needs and what only the other mode uses."""
    egress = spec.network.egress
    path = ("network", "egress")
    problems = []
    if egress.mode == "nat_gateway":
        for field in ("firewall_private_ip", "hub"):
            if getattr(egress, field) is not None:
                problems.append(Problem((*path, field), "only used with mode 'firewall'; remove it or set egress.mode to 'firewall'"))
        return problems
    hub = egress.hub
    if hub is None:
        problems.append(Problem((*path, "hub"), "egress.mode 'firewall' needs the hub its firewall lives in: an existing hub "
                                                "(vnet_id, address_space, firewall_policy_id) or create: true with an address_space"))
        if egress.firewall_private_ip is None:
            problems.append(Problem((*path, "firewall_private_ip"), "egress.mode 'firewall' needs the firewall's private IP as the next hop"))
    elif not hub.create and egress.firewall_private_ip is None:
        problems.append(Problem((*path, "firewall_private_ip"),
                                "egress.mode 'firewall' needs the firewall's private IP as the next hop (the existing hub's firewall)"))
    elif hub.create and egress.firewall_private_ip is not None:
        problems.append(Problem((*path, "firewall_private_ip"),
                                "a hub the toolkit creates routes to its own firewall's private IP (Azure assigns it from "
                                "AzureFirewallSubnet); leave firewall_private_ip out"))
    return problems


def _firewall_outside_workspace(spec: EnvironmentSpec) -> list[Problem]:
    egress, plan = spec.network.egress, spec.network.plan
    if egress.mode != "firewall" or egress.firewall_private_ip is None:
        return []
    ip = ipaddress.IPv4Address(egress.firewall_private_ip)
    return [
        Problem(("network", "egress", "firewall_private_ip"),
                f"{ip} is inside the {name} subnet {plan[name]}; the firewall must sit outside the workspace subnets")
        for name in (HOST, CONTAINER) if ip in plan[name]
    ]


def _hub_ranges(hub: Any) -> list[tuple[int, ipaddress.IPv4Network]]:
    """The hub's address prefixes that parse, with their index (a bad one is its own error)."""

    return [(i, parse_network(c)) for i, c in enumerate(hub.address_space) if cidr_problem(c) is None]


def _firewall_next_hop(spec: EnvironmentSpec) -> list[Problem]:
    """The next hop must be an address the peered hub holds: no other network is peered for egress."""
    egress = spec.network.egress
    if egress.mode != "firewall" or egress.firewall_private_ip is None or egress.hub is None or egress.hub.create:
        return []
    ranges = _hub_ranges(egress.hub)
    if not ranges:
        return []
    ip = ipaddress.IPv4Address(egress.firewall_private_ip)
    shown = ", ".join(str(net) for _, net in ranges)
    if not any(ip in net for _, net in ranges):
        return [Problem(("network", "egress", "firewall_private_ip"),
                        f"{ip} is outside the hub's address space ({shown}): no peered network holds this next hop")]
    if any(ip in (net.network_address, net.broadcast_address) for _, net in ranges):
        return [Problem(("network", "egress", "firewall_private_ip"), f"{ip} is a network or broadcast address of the hub")]
    return []


def _firewall_hub_overlaps(spec: EnvironmentSpec) -> list[Problem]:
    """The hub's ranges stay clear of the workspace VNet, the transit VNet and the stamping pool (peered VNets must
    not overlap: https://learn.microsoft.com/azure/virtual-network/virtual-network-peering-overview)."""
    egress = spec.network.egress
    if egress.mode != "firewall" or egress.hub is None:
        return []
    others = [("the workspace VNet", parse_network(spec.network.address_space))]
    transit = spec.private_link.transit
    if transit is not None and transit.address_space is not None:
        others.append(("the transit VNet", parse_network(transit.address_space)))
    if spec.stamping.pool is not None:
        others.append(("the stamping pool", parse_network(spec.stamping.pool)))
    return [
        Problem(("network", "egress", "hub", "address_space", i), f"{net} overlaps {what} {other}")
        for i, net in _hub_ranges(egress.hub) for what, other in others if net.overlaps(other)
    ]


def _firewall_region(spec: EnvironmentSpec) -> list[Problem]:
    if spec.network.egress.mode != "firewall" or spec.region in DATABRICKS_REGIONAL_ENDPOINTS:
        return []
    return [Problem(("network", "egress", "mode"),
                    f"the firewall rules need Azure Databricks' regional storage and Event Hub endpoints, which the toolkit "
                    f"has for {', '.join(sorted(DATABRICKS_REGIONAL_ENDPOINTS))} only, not {spec.region}: add the region to "
                    "DATABRICKS_REGIONAL_ENDPOINTS (components/planning/firewall.py) from Microsoft's 'IP addresses and "
                    "domains for Azure Databricks services and assets'")]


def _names(spec: EnvironmentSpec) -> list[Problem]:
    names = plan_names(spec.naming.prefix, spec.name, spec.region, spec.naming.unique_suffix)
    return [Problem(("naming",), f"{reason} (the {field.replace('_', ' ')})") for field, reason in name_problems(names)]


def _lockout(spec: EnvironmentSpec) -> list[Problem]:
    """IP access lists that could shut out the operators, the deployer or the clusters themselves."""
    ip = spec.access.ip_access
    if not ip.enabled:
        return []
    path = ("access", "ip_access")
    problems = []
    if not ip.break_glass:
        problems.append(Problem((*path, "break_glass"),
                                "IP access lists are enabled: name the operators' break-glass ranges, "
                                "or one wrong list locks every administrator out"))
    if spec.workspace.public_network_access == "Enabled" and not ip.ci_egress:
        problems.append(Problem((*path, "ci_egress"),
                                "IP access lists are enabled and the deployer reaches the workspace API over its public "
                                "front end: name the CI egress ranges, or the next `pulumi up` locks itself out"))
    if not spec.private_link.backend and not ip.compute_plane_egress:
        problems.append(Problem((*path, "compute_plane_egress"),
                                "without back-end private link, clusters reach the control plane from their public egress "
                                "IPs (NAT gateway or firewall): list them here or clusters cannot start"))
    if spec.tier.value in ("staging", "prod"):
        for i, lst in enumerate(ip.allow):
            for j, cidr in enumerate(lst.cidrs):
                if cidr == "0.0.0.0/0":
                    problems.append(Problem((*path, "allow", i, "cidrs", j),
                                            f"{spec.tier.value} never allows the whole Internet (0.0.0.0/0)"))
    return problems


def _ip_lists(spec: EnvironmentSpec) -> list[Problem]:
    """Labels, Databricks' quota, and BLOCK entries that would shut out a range the toolkit keeps open."""
    ip = spec.access.ip_access
    path = ("access", "ip_access")
    problems = []
    seen: dict[str, str] = {}
    for kind in ("allow", "block"):
        for i, lst in enumerate(getattr(ip, kind)):
            key = slug(lst.label)
            if key in seen:
                problems.append(Problem((*path, kind, i, "label"),
                                        f"{lst.label!r} clashes with list {seen[key]!r} (labels must differ beyond case and punctuation)"))
            seen.setdefault(key, lst.label)
    lists = (ip.break_glass, ip.ci_egress, ip.compute_plane_egress, *(x.cidrs for x in ip.allow), *(x.cidrs for x in ip.block))
    total = sum(len(x) for x in lists)
    if total > MAX_IP_ACCESS_VALUES:
        problems.append(Problem(path, f"{total} addresses and ranges across all lists; Databricks allows at most {MAX_IP_ACCESS_VALUES}"))
    kept_open = [(kind, ipaddress.IPv4Network(c))
                 for kind in ("break_glass", "ci_egress", "compute_plane_egress") for c in getattr(ip, kind)]
    for i, lst in enumerate(ip.block):
        for j, cidr in enumerate(lst.cidrs):
            blocked = ipaddress.IPv4Network(cidr)
            for kind, net in kept_open:
                if blocked.overlaps(net):
                    problems.append(Problem((*path, "block", i, "cidrs", j),
                                            f"{blocked} blocks the {kind.replace('_', '-')} range {net}: a BLOCK list wins over "
                                            "every ALLOW list, so this would lock that access out"))
    return problems


def _access_references(spec: EnvironmentSpec) -> list[Problem]:
    """Unique identities and policies, and policies that name only declared principals."""
    access = spec.access
    problems: list[Problem] = []

    def unique(field: str, keys: list[str], what: str) -> None:
        seen: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key in seen:
                problems.append(Problem(("access", field, i), f"{what} repeats entry {seen[key]}"))
            seen.setdefault(key, i)

    unique("groups", [slug(g.name) for g in access.groups], "the name (ignoring case and punctuation)")
    unique("groups", [g.entra_object_id for g in access.groups], "the Entra object id")
    unique("service_principals", [slug(s.name) for s in access.service_principals], "the name (ignoring case and punctuation)")
    unique("service_principals", [s.application_id for s in access.service_principals], "the Entra application id")
    unique("cluster_policies", [slug(p.name) for p in access.cluster_policies], "the policy name (ignoring case and punctuation)")
    groups = {g.name for g in access.groups}
    sps = {s.name for s in access.service_principals}
    for i, policy in enumerate(access.cluster_policies):
        for j, g in enumerate(policy.groups):
            if g not in groups:
                problems.append(Problem(("access", "cluster_policies", i, "groups", j), f"unknown group {g!r}; declare it in access.groups"))
        for j, sp in enumerate(policy.service_principals):
            if sp not in sps:
                problems.append(Problem(("access", "cluster_policies", i, "service_principals", j),
                                        f"unknown service principal {sp!r}; declare it in access.service_principals"))
        if not policy.groups and not policy.service_principals:
            problems.append(Problem(("access", "cluster_policies", i, "groups"),
                                    "nobody may use this policy; name at least one group or service principal"))
    return problems


def _policy_tags(spec: EnvironmentSpec) -> list[Problem]:
    if spec.access.cluster_policies and not spec.tags.get("cost-center", "").strip():
        return [Problem(("tags",), "cluster policies fix custom_tags.cost-center from the spec's 'cost-center' tag; give it a value")]
    return []


def _ingress_cluster(spec: EnvironmentSpec) -> list[Problem]:
    ingress = spec.ingress
    if not ingress.enabled:
        return []
    problems = []
    aks = creates_aks(ingress.enabled, ingress.cluster)
    if aks and spec.network.subnets.aks_subnet_prefix is None:
        problems.append(Problem(("network", "subnets", "aks_prefix_length"),
                                "an AKS cluster needs its own subnet: set network.subnets.aks_prefix_length "
                                "(or pin its range with aks_cidr)"))
    if ingress.cluster == "existing" and ingress.api_server_cidr is None:
        problems.append(Problem(("ingress", "api_server_cidr"), "an existing cluster's API server range is needed for the NetworkPolicies"))
    # Local accounts are off: without a named admin group only the identity that ran `pulumi up` could administer it.
    if aks and ingress.aks.admin_group_object_id is None:
        problems.append(Problem(("ingress", "aks", "admin_group_object_id"),
                                "name the Entra ID group that administers the cluster (AKS RBAC Cluster Admin); "
                                "otherwise only the identity that ran `pulumi up` can"))
    # Connectors' federated identity credentials trust the cluster's OIDC issuer: a created AKS cluster publishes its
    # own (oidcIssuerProfile), an existing one must be named.
    if ingress.cluster == "existing" and ingress.connectors and ingress.oidc_issuer_url is None:
        problems.append(Problem(("ingress", "oidc_issuer_url"),
                                "connectors sign in with AKS workload identity, which trusts the existing cluster's OIDC "
                                "issuer: set it (az aks show --query oidcIssuerProfile.issuerUrl)"))
    if aks and ingress.oidc_issuer_url is not None:
        problems.append(Problem(("ingress", "oidc_issuer_url"),
                                "the AKS cluster the toolkit creates publishes its own OIDC issuer; leave this unset"))
    if ingress.namespace == ingress.apps_namespace:
        problems.append(Problem(("ingress", "apps_namespace"), "apps run in their own namespace, apart from the controller"))
    if not ingress.routes:
        problems.append(Problem(("ingress", "routes"), "an enabled ingress tier needs at least one route (anything unmatched gets 404)"))
    return problems


def _aks_subnet_capacity(spec: EnvironmentSpec) -> list[Problem]:
    """Azure CNI gives every node and every pod slot an address in the node subnet, and an upgrade surges extra nodes
    per pool: "(number of nodes + max surge nodes) + ((number of nodes + max surge nodes) * maximum pods per node that
    you configure)" (https://learn.microsoft.com/azure/aks/concepts-network-ip-address-planning, "IP address planning
    for your AKS clusters", MicrosoftDocs/azure-aks-docs articles/aks/concepts-network-ip-address-planning.md; the
    configure-azure-cni page no longer carries the formula and links there). The program sets no max surge, and AKS
    "configures upgrades to surge with one extra node by default" (articles/aks/upgrade-aks-node-pools-rolling.md), so
    each pool counts (nodes + 1) * (max pods + 1). Azure keeps 5 addresses of every subnet. A subnet that cannot hold
    the pools at their largest fails a scale-out or an upgrade, not the first `pulumi up`."""
    ingress, prefix = spec.ingress, spec.network.subnets.aks_subnet_prefix
    if not creates_aks(ingress.enabled, ingress.cluster) or prefix is None:
        return []
    aks = ingress.aks
    pools = [("system pool", aks.node_count, aks.max_pods)]
    if aks.user_pool is not None:
        pools.append((f"user pool {aks.user_pool.name}", aks.user_pool.max_count, aks.user_pool.max_pods))
    needed = sum((nodes + 1) * (max_pods + 1) for _, nodes, max_pods in pools)
    usable = 2 ** (32 - prefix) - 5
    if needed <= usable:
        return []
    detail = ", ".join(f"{name}: ({nodes} + 1 surge) x ({max_pods} pods + 1)" for name, nodes, max_pods in pools)
    field = "aks_cidr" if spec.network.subnets.aks_cidr else "aks_prefix_length"
    return [Problem(("network", "subnets", field),
                    f"/{prefix} holds {usable} usable addresses but the AKS pools need {needed} under Azure CNI ({detail}): "
                    "widen the subnet or lower node counts or max_pods")]


def _each_route(spec: EnvironmentSpec) -> list[tuple[int, Any]]:
    """The routes with their index; a route that did not validate is left to its own errors."""
    return [(i, r) for i, r in enumerate(spec.ingress.routes) if not isinstance(r, PartialSpec)]


def _ingress_routes(spec: EnvironmentSpec) -> list[Problem]:
    """Unique routes and connectors, known backends, the auth and certificates each route needs."""
    ingress = spec.ingress
    problems: list[Problem] = []
    connectors = [c.name for c in ingress.connectors if not isinstance(c, PartialSpec)]
    # With a connector that did not validate, its name is unknown: no backend can be called unknown.
    all_connectors_known = len(connectors) == len(ingress.connectors)
    for i, name in enumerate(connectors):
        if name in connectors[:i]:
            problems.append(Problem(("ingress", "connectors", i, "name"), f"connector {name!r} appears twice"))
    seen: dict[tuple[str, str, str], int] = {}
    names: list[str] = []
    for i, route in _each_route(spec):
        path = ("ingress", "routes", i)
        if route.name in names:
            problems.append(Problem((*path, "name"), f"route {route.name!r} appears twice"))
        names.append(route.name)
        key = (route.host, route.path, route.match)
        if key in seen:
            problems.append(Problem((*path, "path"), f"{route.match} {route.host}{route.path} is already routed by route {seen[key]}"))
        seen.setdefault(key, i)
        if all_connectors_known and route.backend not in connectors:
            problems.append(Problem((*path, "backend"), f"unknown connector {route.backend!r}; declare it in ingress.connectors"))
        if ingress.oauth2_proxy is None:
            problems.append(Problem((*path, "auth"), f"{route.auth} routes are checked by oauth2-proxy: configure ingress.oauth2_proxy"))
        elif route.auth == "jwt" and not ingress.oauth2_proxy.jwt_issuers:
            problems.append(Problem((*path, "auth"), "jwt routes need ingress.oauth2_proxy.jwt_issuers"))
        elif route.auth == "app" and (not getattr(ingress.oauth2_proxy, "api_client_id", None)
                                      or not getattr(ingress.oauth2_proxy, "app_roles", ())):
            # App-only tokens are checked by their `aud` (the API's application id) and admitted by app role
            # (components/planning/oauth2_proxy.py).
            problems.append(Problem((*path, "auth"), "app routes need ingress.oauth2_proxy.api_client_id and app_roles"))
        if route.certificate_issuer == "acme":
            if ingress.acme_email is None:
                problems.append(Problem((*path, "certificate_issuer"), "ACME certificates need ingress.acme_email"))
            if ingress.load_balancer != "public":
                problems.append(Problem((*path, "certificate_issuer"),
                                        "ACME HTTP-01 needs a public load balancer; internal hosts take the private CA"))
    return problems


def _ingress_client_certificates(spec: EnvironmentSpec) -> list[Problem]:
    """A route's client-certificate CA trusts that route's clients only, TLS options hold per host, and a host has at
    most MAX_ROUTES_PER_HOST routes.

    Traefik picks TLS options (client authentication among them) by the TLS server name, before routing: "a TLS
    options reference is mapped to a host name", and two references on one host conflict; Traefik then uses the
    default TLS options for that host (no client certificate asked)
    (traefik/traefik v3.5.2 docs/content/reference/routing-configuration/kubernetes/crd/http/ingressroute.md,
    "Server Name Association" and "Conflicting TLS Options"; pkg/server/router/tcp/manager.go). So routes on one host
    must agree on client mTLS and its CA. A CA shared by routes to different connectors would let one connector's
    clients present their certificate to the other's route. (A request whose Host header names a host with other TLS
    options than its SNI gets 421 from Traefik: pkg/middlewares/snicheck/snicheck.go.)"""
    ingress = spec.ingress
    if not ingress.enabled:
        return []
    problems: list[Problem] = []
    by_host: dict[str, tuple[int, str | None]] = {}
    by_ca: dict[str, tuple[int, str]] = {}
    per_host: dict[str, int] = {}
    for i, route in _each_route(spec):
        per_host[route.host] = per_host.get(route.host, 0) + 1
        if per_host[route.host] == MAX_ROUTES_PER_HOST + 1:
            problems.append(Problem(("ingress", "routes", i, "host"),
                                    f"more than {MAX_ROUTES_PER_HOST} routes on {route.host}: their router priorities would "
                                    "reach those of other rules on the host (components/planning/ingress.py, route_priorities)"))
        ca = route.client_ca_secret if route.client_mtls else None
        first = by_host.setdefault(route.host, (i, ca))
        if first[1] != ca:
            want = f"client CA {first[1]!r}" if first[1] else "no client certificate"
            problems.append(Problem(("ingress", "routes", i, "client_ca_secret"),
                                    f"route {first[0]} on host {route.host} asks {want}; Traefik applies TLS options per "
                                    "host (SNI), so routes on one host cannot differ: give this route its own host"))
        if ca is not None:
            owner = by_ca.setdefault(ca, (i, route.backend))
            if owner[1] != route.backend:
                problems.append(Problem(("ingress", "routes", i, "client_ca_secret"),
                                        f"client CA {ca!r} already trusts the clients of connector {owner[1]!r} (route "
                                        f"{owner[0]}); each connector's routes take a CA of their own"))
    return problems


def _ingress_prod(spec: EnvironmentSpec) -> list[Problem]:
    ingress = spec.ingress
    if not ingress.enabled or spec.tier.value != "prod":
        return []
    problems = []
    for i, route in _each_route(spec):
        if route.host.startswith("*."):
            problems.append(Problem(("ingress", "routes", i, "host"), "prod routes name exact hosts, never wildcards"))
        if not route.allow_cidrs:
            problems.append(Problem(("ingress", "routes", i, "allow_cidrs"), "prod routes carry a source-IP allowlist"))
        for j, cidr in enumerate(route.allow_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0:
                problems.append(Problem(("ingress", "routes", i, "allow_cidrs", j), "prod never allows every source address"))
    return problems


def _ingress_prod_load_balancer(spec: EnvironmentSpec) -> list[Problem]:
    ingress = spec.ingress
    if not ingress.enabled or spec.tier.value != "prod":
        return []
    problems = [
        Problem(("ingress", "load_balancer_source_ranges", j), "prod never opens the load balancer to every address")
        for j, cidr in enumerate(ingress.load_balancer_source_ranges) if ipaddress.ip_network(cidr).prefixlen == 0
    ]
    return problems


def _ingress_public_load_balancer(spec: EnvironmentSpec) -> list[Problem]:
    """The AKS subnet's NSG admits the load balancer's source ranges to the controller (nsg_rules.aks_subnet_rules);
    a public load balancer without them would admit the whole Internet, which no tier allows
    (policy nsg-no-internet-inbound)."""
    ingress = spec.ingress
    if not ingress.enabled or ingress.load_balancer != "public" or ingress.load_balancer_source_ranges:
        return []
    return [Problem(("ingress", "load_balancer_source_ranges"),
                    f"a public load balancer needs source ranges{' in prod' if spec.tier.value == 'prod' else ''}: "
                    "the AKS subnet's NSG admits only them (without, it would admit the Internet)")]


def _audit(spec: EnvironmentSpec) -> list[Problem]:
    mon = spec.monitoring
    problems = []
    if mon.alerts.enabled and not mon.alerts.emails:
        problems.append(Problem(("monitoring", "alerts", "emails"), "alerts need someone to tell: give at least one email receiver"))
    if mon.siem.event_hub and not mon.siem.private_endpoint:
        problems.append(Problem(("monitoring", "siem", "private_endpoint"),
                                "the SIEM's Event Hub namespace refuses public traffic (only trusted Azure services write to "
                                "it): without its private endpoint nothing can read the export"))
    pl = mon.private_link
    if not pl.enabled:
        for field, what in (("public_ingestion", "ingestion"), ("public_query", "queries")):
            if not getattr(pl, field):
                problems.append(Problem(("monitoring", "private_link", field),
                                        f"a workspace that refuses {what} from public networks needs an Azure Monitor "
                                        "Private Link Scope (monitoring.private_link.enabled), or no network reaches it"))
    return problems


def _data_sources(spec: EnvironmentSpec) -> list[Problem]:
    lake = spec.data.lake
    if lake.existing_storage_account_id is not None and not lake.enabled:
        return [Problem(("data", "lake", "enabled"), "existing_storage_account_id is given but the lake is not enabled")]
    return []


def _encryption(spec: EnvironmentSpec) -> list[Problem]:
    enc = spec.encryption
    if enc.customer_managed_keys and enc.managed_services and enc.databricks_app_object_id is None:
        return [Problem(("encryption", "databricks_app_object_id"),
                        "managed-services keys are used by the AzureDatabricks application; give its object id in your "
                        "tenant (Enterprise applications, application id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d)")]
    return []


def _bastion(spec: EnvironmentSpec) -> list[Problem]:
    """The engineers' Bastion: a transit VNet the toolkit creates, room in it for both subnets, and the sign-in inputs."""
    bastion = spec.bastion
    if not bastion.enabled:
        return []
    problems = []
    why = " (a stamped test environment turns Bastion on by default; set bastion.enabled false to go without)" \
        if spec.stamping.ephemeral else ""
    if bastion.entra_login_group_object_id is None:
        problems.append(Problem(("bastion", "entra_login_group_object_id"),
                                "Bastion is on: name the Entra group granted 'Virtual Machine User Login' on the jump host" + why))
    if bastion.admin_ssh_public_key is None:
        problems.append(Problem(("bastion", "admin_ssh_public_key"),
                                "Azure needs one SSH public key on a Linux VM with password sign-in off; give the public half "
                                "of a key whose private half is discarded or kept offline (people sign in with Entra ID)" + why))
    transit = spec.private_link.transit
    if transit is None or transit.address_space is None:
        problems.append(Problem(("bastion", "enabled"),
                                "Bastion and the jump host live in a transit VNet the toolkit creates: "
                                "give private_link.transit.address_space" + why))
        return problems
    try:
        transit_layout(transit.address_space, transit.private_endpoint_prefix_length, bastion.subnet_prefix_length,
                       bastion.jump_host_subnet_prefix_length)
    except AddressPlanError as exc:
        detail = "; ".join(reason for _, reason in exc.problems)
        problems.append(Problem(("private_link", "transit", "address_space"),
                                f"{transit.address_space} cannot hold the endpoint subnet (/{transit.private_endpoint_prefix_length}), "
                                f"AzureBastionSubnet (/{bastion.subnet_prefix_length}) and the jump-host subnet "
                                f"(/{bastion.jump_host_subnet_prefix_length}): {detail}"))
    return problems


RULES: tuple[Rule, ...] = (
    _floors, _nsg_mode, _private_front_end, _workspace_storage, _transit_range, _egress_mode, _firewall_outside_workspace,
    _firewall_next_hop, _firewall_hub_overlaps, _firewall_region, _names,
    _lockout, _ip_lists, _access_references, *IDENTITY_RULES, _policy_tags,
    _ingress_cluster, _aks_subnet_capacity, _ingress_routes, _ingress_client_certificates, _ingress_prod,
    _ingress_prod_load_balancer, _ingress_public_load_balancer, _audit, _data_sources, _encryption,
    _bastion, *SERVERLESS_RULES, *COMPUTE_RULES,
)


def advisories(spec: EnvironmentSpec) -> list[str]:
    """Things worth knowing about a valid spec that are not errors."""
    notes = []
    if spec.access.ip_access.enabled and spec.workspace.public_network_access == "Disabled":
        notes.append("IP access lists only see public traffic; with public network access Disabled they are kept as "
                     "defence in depth and take effect only if public access is ever enabled")
    if not spec.access.ip_access.enabled and spec.workspace.public_network_access == "Enabled":
        notes.append("the workspace front end is public and IP access lists are off: anyone with credentials can reach it")
    if spec.monitoring.alerts.enabled and spec.ingress.enabled and not creates_aks(spec.ingress.enabled, spec.ingress.cluster):
        notes.append("ingress alerts need the controller's access logs in Log Analytics; with an existing cluster, "
                     "ship them there yourself (the toolkit wires Container Insights only for the AKS it creates)")
    notes += identity_advisories(spec)
    notes += compliance_advisories(spec)
    pc = spec.access.compute.personal_compute
    if not pc.groups:
        notes.append("the built-in Personal Compute policy gets no permissions from this spec: under the account's "
                     "DELEGATE setting only principals already on its access list may use it; name "
                     "access.compute.personal_compute.groups to set that list")
    enc = spec.encryption
    if enc.customer_managed_keys and enc.dbfs_root == "prepare":
        notes.append("DBFS root encryption is prepared, not applied: once this deployment has run, set "
                     "encryption.dbfs_root to 'apply' and deploy again")
    return notes


def cross_field_problems(spec: EnvironmentSpec) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(spec)]


class SectionInvalid(Exception):
    """A rule asked for a section that did not validate; the rule is skipped."""


class PartialSpec:
    """The sections of a spec that validated on their own; reading any other raises SectionInvalid."""

    def __init__(self, valid: dict[str, Any]):
        self._valid = valid

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key not in self._valid:
            raise SectionInvalid(key)
        return self._valid[key]


# A partly valid section may hold a value its own field validator would have refused (a type-valid
# but malformed CIDR, say); a rule that trips over one is skipped, since that field's error is reported.
PARTIAL_DATA_ERRORS = (SectionInvalid, ValueError, TypeError, KeyError, AttributeError)


def partial_problems(valid_sections: dict[str, Any]) -> list[Problem]:
    """Run every rule whose sections are all valid (best effort: the section errors come first)."""
    spec = PartialSpec(valid_sections)
    out: list[Problem] = []
    for rule in RULES:
        try:
            out += rule(spec)
        except PARTIAL_DATA_ERRORS:
            continue
    return out
