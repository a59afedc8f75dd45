"""`report`: a Markdown review document for one stack, built from the recorded registrations.

Sections: header and plan summary, resources by component, policy results and advisories, the reachability
matrix (`components.planning.combined`: NSGs, the workspace front end, the AKS subnet, the ingress load balancer and
the NetworkPolicies in one table, when the spec is given), and a network topology diagram (Mermaid, plus an SVG
from an equivalent Graphviz DOT graph when `dot` is on PATH).
Everything is read from the plan form of the recording (`planfile.to_plan`), so secrets are "[secret]" at most,
and the report only ever prints names, address prefixes and settings, never input values wholesale.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brickwall import render

if TYPE_CHECKING:
    from components.spec import EnvironmentSpec

Resource = dict[str, Any]

VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
NAT = "azure-native:network:NatGateway"
ROUTE_TABLE = "azure-native:network:RouteTable"
ROUTE = "azure-native:network:Route"
ENDPOINT = "azure-native:network:PrivateEndpoint"
PEERING = "azure-native:network:VirtualNetworkPeering"
FIREWALL = "azure-native:network:AzureFirewall"
RULE_COLLECTION_GROUP = "azure-native:network:FirewallPolicyRuleCollectionGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
WORKSPACE = "azure-native:databricks:Workspace"
AKS = "azure-native:containerservice:ManagedCluster"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
SQL_SERVER = "azure-native:sql:Server"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
EVENT_HUB_NAMESPACE = "azure-native:eventhub:Namespace"
MONITOR_SCOPE = "azure-native:monitor:PrivateLinkScope"
MONITOR_SCOPED = "azure-native:monitor:PrivateLinkScopedResource"
# The ARM types a private endpoint or diagnostic setting can point at, as their id segment.
_TARGET_KINDS = ("workspaces", "storageaccounts", "vaults", "servers", "managedclusters", "namespaces", "privatelinkscopes")

REPORT_FILE = "report.md"
SVG_FILE = "topology.svg"


# --- graph model, rendered to Mermaid and to DOT ---------------------------------------------------------------

@dataclass
class Graph:
    nodes: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)  # id -> (label, group, shape)
    groups: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (label, parent group)
    edges: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (src, dst, label, dotted)

    def node(self, key: str, label: str, group: str | None = None, shape: str = "box") -> str:
        nid = sanitize(key)
        if nid not in self.nodes:
            self.nodes[nid] = (label, group, shape)
        return nid

    def group(self, key: str, label: str, parent: str | None = None) -> str:
        gid = "sg_" + sanitize(key)
        self.groups.setdefault(gid, (label, parent))
        return gid

    def edge(self, src: str, dst: str, label: str = "", dotted: bool = False) -> None:
        if (src, dst, label, dotted) not in self.edges:
            self.edges.append((src, dst, label, dotted))


def sanitize(key: str) -> str:
    """A Mermaid/DOT-safe id: only [A-Za-z0-9_], never starting with a digit."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", key)
    # Mermaid keywords ("end", "subgraph", ...) and leading digits are not valid ids.
    return out if out and not out[0].isdigit() and out.lower() not in _RESERVED else "n_" + out


_RESERVED = {"end", "subgraph", "graph", "flowchart", "style", "class", "classdef", "click", "linkstyle", "direction",
             "default", "node", "edge", "digraph", "strict"}


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def to_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    shapes = {"box": ("[", "]"), "round": ("(", ")"), "db": ("[(", ")]"), "hex": ("{{", "}}")}

    def emit(group: str | None, depth: int) -> None:
        pad = "    " * depth
        for nid, (label, g, shape) in graph.nodes.items():
            if g == group:
                left, right = shapes[shape]
                lines.append(f"{pad}{nid}{left}{_mermaid_label(label)}{right}")
        for gid, (label, parent) in graph.groups.items():
            if parent == group:
                lines.append(f"{pad}subgraph {gid}[{_mermaid_label(label)}]")
                emit(gid, depth + 1)
                lines.append(f"{pad}end")

    emit(None, 1)
    for src, dst, label, dotted in graph.edges:
        arrow = "-.->" if dotted else "-->"
        lines.append(f"    {src} {arrow}" + (f"|{_mermaid_label(label)}|" if label else "") + f" {dst}")
    return "\n".join(lines) + "\n"


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    lines = ["digraph topology {", "    rankdir=LR;", '    node [shape=box, fontname="Helvetica"];']
    shapes = {"box": "box", "round": "ellipse", "db": "cylinder", "hex": "hexagon"}

    def emit(group: str | None, depth: int) -> None:
        pad = "    " * depth
        for nid, (label, g, shape) in graph.nodes.items():
            if g == group:
                lines.append(f"{pad}{nid} [label={_dot_str(label)}, shape={shapes[shape]}];")
        for gid, (label, parent) in graph.groups.items():
            if parent == group:
                lines.append(f"{pad}subgraph cluster_{gid} {{")
                lines.append(f"{pad}    label={_dot_str(label)};")
                emit(gid, depth + 1)
                lines.append(f"{pad}}}")

    emit(None, 1)
    for src, dst, label, dotted in graph.edges:
        attrs = [f"label={_dot_str(label)}"] if label else []
        if dotted:
            attrs.append("style=dashed")
        lines.append(f"    {src} -> {dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- topology from the plan -------------------------------------------------------------------------------------

def _arm(resource_id: Any) -> dict[str, str]:
    """'/subscriptions/s/resourceGroups/rg/providers/P/virtualNetworks/v/subnets/s' -> {'resourcegroups': 'rg', ...}."""
    parts = [p for p in str(resource_id or "").split("/") if p]
    out: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        if parts[i].lower() == "providers":
            i += 2
            continue
        out[parts[i].lower()] = parts[i + 1]
        i += 2
    return out


def _key(*parts: Any) -> str:
    return "/".join(str(p).lower() for p in parts)


def _ref_id(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, dict) else str(value or "")


def topology(plan: dict[str, Any]) -> Graph:
    g = Graph()
    res: list[Resource] = plan["resources"]
    of = defaultdict(list)
    for r in res:
        of[r["type"]].append(r)

    vnet_groups: dict[str, str] = {}  # rg/vnet -> group id
    vnet_nodes: dict[str, str] = {}
    for r in of[VNET]:
        i = r["inputs"]
        name, rg = i.get("virtualNetworkName", r["name"]), i.get("resourceGroupName", "")
        logical = r["urn"].split("::")[-1]
        kind = ("transit VNet" if "transit" in logical or "transit" in str(name)
                else "hub VNet" if "firewall-hub" in logical else "workspace VNet")
        key = _key(rg, name)
        vnet_groups[key] = g.group("vnet_" + key, f"{kind}: {name}")
        vnet_nodes[key] = g.node("vnet_" + key, f"{name}\n{', '.join(render._get(i, 'addressSpace.addressPrefixes', []))}",
                                 vnet_groups[key], "round")

    subnets: dict[str, str] = {}  # rg/vnet/subnet -> node id
    subnet_groups: dict[str, str | None] = {}
    nsg_subnets: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    nat_subnets: dict[str, list[str]] = defaultdict(list)
    rt_subnets: dict[str, list[str]] = defaultdict(list)
    for r in of[SUBNET]:
        i = r["inputs"]
        rg, vnet, name = i.get("resourceGroupName", ""), i.get("virtualNetworkName", ""), i.get("subnetName", r["name"])
        key = _key(rg, vnet, name)
        group = vnet_groups.get(_key(rg, vnet))
        extra = [f"delegated to {d.get('serviceName')}" for d in i.get("delegations") or []]
        subnets[key] = g.node("subnet_" + key, f"{name}\n{i.get('addressPrefix')}" + "".join("\n" + e for e in extra), group)
        subnet_groups[key] = group
        if i.get("networkSecurityGroup"):
            a = _arm(_ref_id(i["networkSecurityGroup"]))
            nsg_subnets[_key(a.get("resourcegroups", ""), a.get("networksecuritygroups", ""))].append((subnets[key], group))
        if i.get("natGateway"):
            a = _arm(_ref_id(i["natGateway"]))
            nat_subnets[_key(a.get("resourcegroups", ""), a.get("natgateways", ""))].append(subnets[key])
        if i.get("routeTable"):
            a = _arm(_ref_id(i["routeTable"]))
            rt_subnets[_key(a.get("resourcegroups", ""), a.get("routetables", ""))].append(subnets[key])

    for r in of[NSG]:
        i = r["inputs"]
        name = i.get("networkSecurityGroupName", r["name"])
        attached = nsg_subnets.get(_key(i.get("resourceGroupName", ""), name), [])
        groups = {grp for _, grp in attached}
        nsg = g.node("nsg_" + _key(i.get("resourceGroupName", ""), name), f"NSG {name}",
                     groups.pop() if len(groups) == 1 else None, "hex")
        for subnet_id, _ in attached:
            g.edge(nsg, subnet_id, "attached", dotted=True)

    for r in of[NAT]:
        i = r["inputs"]
        name = i.get("natGatewayName", r["name"])
        pips = [_arm(_ref_id(p)).get("publicipaddresses", "?") for p in i.get("publicIpAddresses") or []]
        nat = g.node("nat_" + _key(i.get("resourceGroupName", ""), name), f"NAT gateway {name}\npublic IP {', '.join(pips) or '-'}")
        internet = g.node("internet", "Internet", shape="round")
        for subnet_id in nat_subnets.get(_key(i.get("resourceGroupName", ""), name), []):
            g.edge(subnet_id, nat, "egress")
        g.edge(nat, internet, "SNAT")

    routes: dict[str, list[Resource]] = defaultdict(list)
    for r in of[ROUTE]:
        i = r["inputs"]
        routes[_key(i.get("resourceGroupName", ""), i.get("routeTableName", ""))].append(i)
    for r in of[ROUTE_TABLE]:
        i = r["inputs"]
        name = i.get("routeTableName", r["name"])
        key = _key(i.get("resourceGroupName", ""), name)
        rt = g.node("rt_" + key, f"route table {name}")
        for subnet_id in rt_subnets.get(key, []):
            g.edge(subnet_id, rt, "egress")
        for route in routes.get(key, []):
            hop = route.get("nextHopIpAddress")
            if route.get("nextHopType") == "VirtualAppliance" and hop:
                target = g.node("fw_" + str(hop), f"firewall / NVA\n{hop}", shape="round")
            else:
                target = g.node("hop_" + str(route.get("nextHopType")), str(route.get("nextHopType")), shape="round")
            g.edge(rt, target, f"{route.get('addressPrefix')} {route.get('routeName', '')}".strip())

    # Firewall egress: the hub peering (one edge per side; an existing hub outside the plan is its own node), the
    # firewall in its hub and the rule collection group the workspace put into the firewall's policy.
    for r in of[PEERING]:
        i = r["inputs"]
        sides = []
        for rg, vnet in ((i.get("resourceGroupName", ""), i.get("virtualNetworkName", "")),
                         (lambda a: (a.get("resourcegroups", ""), a.get("virtualnetworks", "")))(_arm(_ref_id(i.get("remoteVirtualNetwork"))))):
            key = _key(rg, vnet)
            if key not in vnet_nodes:
                vnet_nodes[key] = g.node("vnet_" + key, f"hub VNet {vnet}\n(existing, resource group {rg})", shape="round")
            sides.append(vnet_nodes[key])
        forwarded = " (forwarded traffic allowed)" if i.get("allowForwardedTraffic") else ""
        g.edge(sides[0], sides[1], f"peering {i.get('virtualNetworkPeeringName', r['name'])}{forwarded}", dotted=True)
    for r in of[FIREWALL]:
        i = r["inputs"]
        subnet = _arm(_ref_id((render._get(i, "ipConfigurations", []) or [{}])[0].get("subnet")))
        group = vnet_groups.get(_key(subnet.get("resourcegroups", ""), subnet.get("virtualnetworks", "")))
        g.node("afw_" + _key(i.get("resourceGroupName", ""), i.get("azureFirewallName", r["name"])),
               f"Azure Firewall {i.get('azureFirewallName', r['name'])}\n{render._get(i, 'sku.tier', '')}", group)
    for r in of[RULE_COLLECTION_GROUP]:
        i = r["inputs"]
        collections = [str(c.get("name")) for c in i.get("ruleCollections") or []]
        rcg = g.node("rcg_" + _key(i.get("resourceGroupName", ""), i.get("firewallPolicyName", ""), i.get("ruleCollectionGroupName", "")),
                     f"rule collection group {i.get('ruleCollectionGroupName', r['name'])}\nin policy {i.get('firewallPolicyName')}\n"
                     + ", ".join(collections))
        for node_id, (label, _, _) in list(g.nodes.items()):
            if label.startswith("firewall / NVA"):
                g.edge(rcg, node_id, "allow rules", dotted=True)

    # Workspaces (the classic one is VNet-injected into its host/container subnets) and their storage.
    targets: dict[str, str] = {}  # lower-cased ARM type/name -> node id
    for r in of[WORKSPACE]:
        i = r["inputs"]
        name = i.get("workspaceName", r["name"])
        if i.get("computeMode") == "Serverless":
            node = g.node("ws_" + name, f"web-auth workspace {name}\npublicNetworkAccess={i.get('publicNetworkAccess')}")
        else:
            npip = render._get(i, "parameters.enableNoPublicIp.value")
            node = g.node("ws_" + name, f"Databricks workspace {name}\npublicNetworkAccess={i.get('publicNetworkAccess')}\n"
                                        f"NPIP (no public IP)={npip}")
            vnet = _arm(render._get(i, "parameters.customVirtualNetworkId.value"))
            for param in ("customPublicSubnetName", "customPrivateSubnetName"):
                subnet = render._get(i, f"parameters.{param}.value")
                key = _key(vnet.get("resourcegroups", ""), vnet.get("virtualnetworks", ""), subnet)
                if key in subnets:
                    g.edge(node, subnets[key], "VNet injection", dotted=True)
            storage = render._get(i, "parameters.storageAccountName.value")
            if storage:
                targets[_key("storageaccounts", storage)] = g.node("st_" + storage, f"workspace storage {storage}", shape="db")
        targets[_key("workspaces", name)] = node

    # Data sources and keys the environment creates: their endpoints and audit settings point at these nodes.
    for r in of[STORAGE]:
        i = r["inputs"]
        name = i.get("accountName", r["name"])
        what = "data lake (ADLS Gen2)" if i.get("isHnsEnabled") else "storage account"
        targets[_key("storageaccounts", name)] = g.node(
            "st_" + name, f"{what} {name}\npublicNetworkAccess={i.get('publicNetworkAccess')}", shape="db")
    for r in of[VAULT]:
        i = r["inputs"]
        name = i.get("vaultName", r["name"])
        props = i.get("properties") or {}
        targets[_key("vaults", name)] = g.node(
            "kv_" + name, f"Key Vault {name}\npublicNetworkAccess={props.get('publicNetworkAccess')}\n"
                          f"purge protection={props.get('enablePurgeProtection')}", shape="db")
    for r in of[SQL_SERVER]:
        i = r["inputs"]
        name = i.get("serverName", r["name"])
        targets[_key("servers", name)] = g.node(
            "sql_" + name, f"SQL server {name}\npublicNetworkAccess={i.get('publicNetworkAccess')}", shape="db")

    # The audit stores with private endpoints: the SIEM's Event Hub namespace, the Azure Monitor Private Link Scope.
    for r in of[EVENT_HUB_NAMESPACE]:
        i = r["inputs"]
        name = i.get("namespaceName", r["name"])
        targets[_key("namespaces", name)] = g.node(
            "evhns_" + name, f"Event Hub namespace {name}\npublicNetworkAccess={i.get('publicNetworkAccess')}", shape="db")
    for r in of[MONITOR_SCOPE]:
        i = r["inputs"]
        name = i.get("scopeName", r["name"])
        modes = i.get("accessModeSettings") or {}
        targets[_key("privatelinkscopes", name)] = g.node(
            "ampls_" + name, f"Azure Monitor Private Link Scope {name}\ningestion={modes.get('ingestionAccessMode')}, "
                             f"query={modes.get('queryAccessMode')}")

    for r in of[ENDPOINT]:
        i = r["inputs"]
        name = i.get("privateEndpointName", r["name"])
        sub = _arm(_ref_id(i.get("subnet")))
        skey = _key(sub.get("resourcegroups", ""), sub.get("virtualnetworks", ""), sub.get("subnets", ""))
        pe = g.node("pe_" + name, f"private endpoint {name}", subnet_groups.get(skey))
        if skey in subnets:
            g.edge(subnets[skey], pe, "in subnet", dotted=True)
        for conn in i.get("privateLinkServiceConnections") or []:
            t = _arm(conn.get("privateLinkServiceId"))
            kind = next((k for k in _TARGET_KINDS if k in t), "")
            tname = t.get(kind, str(conn.get("privateLinkServiceId", "")).rsplit("/", 1)[-1])
            target = targets.get(_key(kind, tname)) or g.node("ext_" + tname, tname)
            g.edge(pe, target, ", ".join(conn.get("groupIds") or []))

    zones: dict[str, str] = {}
    for r in of[ZONE]:
        i = r["inputs"]
        key = _key(i.get("resourceGroupName", ""), i.get("privateZoneName", r["name"]))
        zones[key] = g.node("zone_" + key, f"private DNS zone {i.get('privateZoneName')}\n({i.get('resourceGroupName')})", shape="db")
    for r in of[ZONE_LINK]:
        i = r["inputs"]
        zkey = _key(i.get("resourceGroupName", ""), i.get("privateZoneName", ""))
        v = _arm(_ref_id(i.get("virtualNetwork")))
        vkey = _key(v.get("resourcegroups", ""), v.get("virtualnetworks", ""))
        zone = zones.get(zkey) or g.node("zone_" + zkey, f"private DNS zone {i.get('privateZoneName')}", shape="db")
        vnet_node = vnet_nodes.get(vkey) or g.node("vnet_" + vkey, str(v.get("virtualnetworks")), shape="round")
        g.edge(zone, vnet_node, "linked")

    for r in of[AKS]:
        i = r["inputs"]
        name = i.get("resourceName", r["name"])
        aks = g.node("aks_" + sanitize(name), f"AKS {name}\nprivate API={render._get(i, 'apiServerAccessProfile.enablePrivateCluster')}"
                                    f"\nnetwork policy={render._get(i, 'networkProfile.networkPolicy')}")
        for pool in i.get("agentPoolProfiles") or []:
            a = _arm(pool.get("vnetSubnetID"))
            key = _key(a.get("resourcegroups", ""), a.get("virtualnetworks", ""), a.get("subnets", ""))
            if key in subnets:
                g.edge(subnets[key], aks, f"node pool {pool.get('name')}", dotted=True)

    for r in of[AKS]:
        targets[_key("managedclusters", r["inputs"].get("resourceName", r["name"]))] = "aks_" + sanitize(r["inputs"].get("resourceName", r["name"]))
    for r in of[LOG_ANALYTICS]:
        i = r["inputs"]
        name = i.get("workspaceName", r["name"])
        log = g.node("log_" + name, f"Log Analytics {name}\nretention {i.get('retentionInDays')} days\npublic ingestion="
                                    f"{i.get('publicNetworkAccessForIngestion')}, query={i.get('publicNetworkAccessForQuery')}", shape="db")
        for scoped in of[MONITOR_SCOPED]:
            if _arm(scoped["inputs"].get("linkedResourceId")).get("workspaces") == name.lower():
                scope = targets.get(_key("privatelinkscopes", scoped["inputs"].get("scopeName", "")))
                if scope is not None:
                    g.edge(scope, log, "scoped")
        for d in of[DIAGNOSTICS]:
            t = _arm(d["inputs"].get("resourceUri"))
            kind = next((k for k in _TARGET_KINDS if k in t), "")
            source = targets.get(_key(kind, t.get(kind, "")))
            if source is not None:
                g.edge(source, log, "audit logs", dotted=True)

    if of[NAMESPACE] or of[INGRESS_ROUTE]:
        ingress = g.group("ingress_tier", "ingress tier (in AKS)")
        ns_groups: dict[str, str] = {}
        for r in of[NAMESPACE]:
            ns = str(render._get(r["inputs"], "metadata.name", r["name"]))
            ns_groups[ns] = g.group("ns_" + ns, f"namespace {ns}", ingress)
        anchor = None
        for r in of[RELEASE]:
            i = r["inputs"]
            node = g.node("release_" + r["name"], f"Helm {i.get('chart')} {i.get('version')}",
                          ns_groups.get(str(i.get("namespace")), ingress), "round")
            if i.get("chart") == "traefik":
                anchor = node
        if anchor is None:
            anchor = g.node("ingress_controller", "ingress controller", ingress, "round")
        for aks_res in of[AKS]:
            g.edge("aks_" + sanitize(aks_res["inputs"].get("resourceName", aks_res["name"])), anchor, "runs")
        for r in of[INGRESS_ROUTE]:
            rns = str(render._get(r["inputs"], "metadata.namespace", ""))
            for route in render._get(r["inputs"], "spec.routes", []) or []:
                match = str(route.get("match", ""))
                hosts = re.findall(r"Host\(`([^`]+)`\)", match)
                paths = re.findall(r"PathPrefix\(`([^`]+)`\)", match)
                host = g.node("host_" + "_".join(hosts or [r["name"]]), ", ".join(hosts) or r["name"], ns_groups.get(rns, ingress))
                g.edge(anchor, host, "routes", dotted=True)
                for svc in route.get("services") or []:
                    if svc.get("kind") == "TraefikService":  # Traefik's own responders (the 405 rules), no connector
                        continue
                    sns = str(svc.get("namespace", rns))
                    target = g.node(f"svc_{sns}_{svc.get('name')}", f"connector {sns}/{svc.get('name')}:{svc.get('port')}",
                                    ns_groups.get(sns, ingress))
                    g.edge(host, target, " ".join(paths) or "route")
    return g


# --- the report -------------------------------------------------------------------------------------------------

def components_summary(plan: dict[str, Any]) -> list[tuple[str, str, Counter[str]]]:
    by_urn = {r["urn"]: r for r in plan["resources"]}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in plan["resources"]:
        if not r["custom"]:
            continue
        parent = by_urn.get(r["parent"])
        while parent is not None and parent["custom"]:
            parent = by_urn.get(parent["parent"])
        counts[parent["urn"] if parent else ""][render.short_type(r["type"])] += 1
    rows = []
    for urn, counter in counts.items():
        comp = by_urn.get(urn)
        rows.append((comp["name"] if comp else "(stack)", render.short_type(comp["type"]) if comp else "-", counter))
    return sorted(rows, key=lambda row: (row[1] != "SecureDatabricksEnvironment", row[0]))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def build_report(plan: dict[str, Any], *, tier: str = "?", region: str = "?", advisories: list[str] | None = None,
                 check_result: Any = None, dot_available: bool | None = None,
                 reachability: str | None = None, spec: EnvironmentSpec | None = None,
                 peered: Sequence[str] = ()) -> tuple[str, str, str]:
    """(report markdown, mermaid text, dot text) for a plan (the `planfile` schema).

    With `spec`, the reachability section is the combined matrix of every layer (`peered`: further corporate
    ranges routed into the VNet); `reachability` alone is a ready-made NSG matrix (`reachability.matrix_markdown`).
    """
    from brickwall import check

    result = check_result if check_result is not None else check.check_plan(plan)
    graph = topology(plan)
    mermaid, dot = to_mermaid(graph), to_dot(graph)
    if dot_available is None:
        dot_available = shutil.which("dot") is not None

    out = [f"# brickwall report: stack {plan['stack']}", "",
           f"- stack: `{plan['stack']}`", f"- tier: `{tier}`", f"- region: `{region}`",
           "- offline: mock runtime (nothing sent to Azure)", "", f"**Plan summary:** {render.summary(plan)}", "",
           "## Resources by component", "", "| Component | Type | Resources |", "| --- | --- | --- |"]
    for name, type_, counter in components_summary(plan):
        cells = ", ".join(f"{t} x{n}" for t, n in sorted(counter.items()))
        out.append(f"| {_cell(name)} | {_cell(type_)} | {_cell(cells)} |")

    out += ["", "## Policy results", ""]
    policies = check.load_policies()
    if not result.violations:
        out.append(f"All {len(policies)} rules pass ({len(result.skipped)} check(s) skipped).")
    else:
        out.append(f"{len(result.violations)} violation(s), {len(result.mandatory)} mandatory.")
        out += ["", "| Level | Rule | Resource | Message | Remediation |", "| --- | --- | --- | --- | --- |"]
        for v in sorted(result.violations, key=lambda v: (not v.mandatory, v.policy, v.urn)):
            out.append(f"| {v.level} | {_cell(v.policy)} | `{_cell(v.urn or '(stack)')}` | {_cell(v.message)} | {_cell(v.remediation)} |")
    if result.skipped:
        out += ["", "Skipped checks:", ""]
        out += [f"- {s.policy} on `{s.urn or '(stack)'}`: {s.reason}" for s in result.skipped]
    out += ["", "### Advisories", ""]
    out += [f"- {note}" for note in advisories or []] or ["None."]

    if spec is not None:
        from components.planning.combined import combined_markdown, topology_from_spec

        out += ["", "## Reachability", "",
                "Every layer between a source and what it reaches, evaluated from the same tables and objects the "
                "components create: the subnets' NSGs (with the rules Databricks injects and Azure's default rules, first "
                "match by priority), the workspace's public network access, IP access lists and private endpoints, the AKS "
                "subnet, the ingress load balancer and its source ranges, and the Kubernetes NetworkPolicies.", "",
                combined_markdown(topology_from_spec(spec, peered)).rstrip("\n")]
    elif reachability:
        out += ["", "## Reachability (NSGs)", "",
                "Each flow evaluated against both subnets' NSG rule tables (the same tables the components create, "
                "plus the rules Databricks injects and Azure's default rules), first match by priority.", "",
                reachability.rstrip("\n")]
    out += ["", "## Topology", "", "Built from the recorded registrations.", "", "```mermaid", mermaid.rstrip("\n"), "```", ""]
    if dot_available:
        out.append(f"An SVG rendering of the same graph (Graphviz) is in `{SVG_FILE}`.")
    else:
        out.append(f"`{SVG_FILE}` skipped: Graphviz (`dot`) is not installed on this machine.")
    return "\n".join(out) + "\n", mermaid, dot


def write_report(plan: dict[str, Any], out_dir: str | Path, **kwargs: Any) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dot_bin = shutil.which("dot")
    text, _, dot = build_report(plan, dot_available=dot_bin is not None, **kwargs)
    written = []
    if dot_bin:
        svg = subprocess.run([dot_bin, "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
        (out / SVG_FILE).write_text(svg)
        written.append(out / SVG_FILE)
    (out / REPORT_FILE).write_text(text)
    written.insert(0, out / REPORT_FILE)
    return written
