"""`report`: a Markdown review document for one stack, built from the recorded registrations.

Sections: header and plan summary; the trust boundaries (when the spec is given: three small views, inbound,
outbound and inside, of the boundaries and the paths across them with their ports, built from the combined matrix,
the firewall's rule collection group and the private endpoints; `boundary_views`); resources by component; policy
results and advisories; the reachability matrix (`components.planning.combined`: NSGs, the workspace front end, the
AKS subnet, the ingress load balancer and the NetworkPolicies, the ports that share a verdict grouped into one
`source -> destination: allowed/denied by <rule>` row); and the topology of every resource. Each diagram is Mermaid
in the Markdown, and an SVG rendered offline by Graphviz when `dot` is on PATH (the report says when it is not).
Everything is read from the plan form of the recording (`planfile.to_plan`), so secrets are "[secret]" at most,
and the report only ever prints names, address prefixes and settings, never input values wholesale.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brickwall import check, render
from components.planning import azure_types as az
from components.planning import combined, reachability
from components.planning.combined import LEGEND, combined_rows, labels
from components.planning.firewall import NetworkRule
from components.planning.front_end import is_public
from components.planning.reachability import AZURE_DATABRICKS, INTERNET, KNOWN_TAGS, is_cidr

if TYPE_CHECKING:
    from components.planning.combined import Topology
    from components.planning.environment import EnvironmentPlan
    from components.spec import EnvironmentSpec

Resource = dict[str, Any]

VNET = az.VIRTUAL_NETWORK.token
SUBNET = az.SUBNET.token
NSG = az.NETWORK_SECURITY_GROUP.token
NAT = az.NAT_GATEWAY.token
ROUTE_TABLE = az.ROUTE_TABLE.token
ROUTE = az.ROUTE.token
ENDPOINT = az.PRIVATE_ENDPOINT.token
PEERING = az.VIRTUAL_NETWORK_PEERING.token
FIREWALL = az.AZURE_FIREWALL.token
RULE_COLLECTION_GROUP = az.FIREWALL_POLICY_RULE_COLLECTION_GROUP.token
ZONE = az.PRIVATE_DNS_ZONE.token
ZONE_LINK = az.PRIVATE_DNS_ZONE_LINK.token
WORKSPACE = az.DATABRICKS_WORKSPACE.token
AKS = az.MANAGED_CLUSTER.token
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE = az.STORAGE_ACCOUNT.token
VAULT = az.KEY_VAULT.token
SQL_SERVER = az.SQL_SERVER.token
LOG_ANALYTICS = az.LOG_ANALYTICS_WORKSPACE.token
DIAGNOSTICS = az.DIAGNOSTIC_SETTING.token
EVENT_HUB_NAMESPACE = az.EVENT_HUB_NAMESPACE.token
MONITOR_SCOPE = az.MONITOR_PRIVATE_LINK_SCOPE.token
MONITOR_SCOPED = az.MONITOR_PRIVATE_LINK_SCOPED_RESOURCE.token
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


# --- trust boundaries: the zones, and the paths the planners open (or close) between them ----------------------

# The zones a reviewer reasons about, outermost first: (label, parent zone, Mermaid/Graphviz fill, border).
ZONES: dict[str, tuple[str, str | None, str, str]] = {
    "internet": ("Internet", None, "#fdecea", "#c62828"),
    "corporate": ("corporate network (peered / on-premises ranges)", None, "#e8eaf6", "#3949ab"),
    "transit": ("transit VNet (front-end Private Link)", None, "#e3f2fd", "#1565c0"),
    "hub": ("hub VNet (egress firewall)", None, "#fff8e1", "#f9a825"),
    "vnet": ("workspace VNet", None, "#e8f5e9", "#2e7d32"),
    "aks": ("AKS (ingress tier: nodes and pods)", "vnet", "#e0f2f1", "#00695c"),
    "control": ("Databricks control plane", None, "#f3e5f5", "#6a1b9a"),
    "azure": ("Azure services (public endpoints)", None, "#eceff1", "#546e7a"),
}
OUTSIDE = ("internet", "corporate", "transit", "control", "azure")  # zones outside our VNets' NSGs
INSIDE = ("vnet", "aks")
# What each private-endpoint class connects to over Private Link (components/planning/data_paths.py's table).
ENDPOINT_SERVICE = {"backend": ("control", "workspace UI / REST API"), "workspace-storage": ("azure", "workspace storage (DBFS root)"),
                    "lake": ("azure", "data lake (ADLS Gen2)"), "sql": ("azure", "Azure SQL"), "key-vault": ("azure", "Key Vault"),
                    "monitor": ("azure", "Azure Monitor (Private Link Scope)"), "siem": ("azure", "Event Hub namespace (SIEM)")}
ALLOW, DENY, OTHER, LINK = "allow", "deny", "other", "link"  # edge kinds
EDGE_COLOURS = {ALLOW: "#2e7d32", DENY: "#c62828", OTHER: "#ef6c00", LINK: "#78909c"}
LEGEND_LINES = (
    "Legend",
    "box: a trust boundary (nested: AKS runs in the workspace VNet)",
    "green solid arrow: allowed; label: protocol and ports (and the firewall rule)",
    "red dashed arrow, cross or bar end: denied on every port asked (to the whole box)",
    "orange dotted arrow: partly allowed, or decided outside the spec",
    "grey dotted arrow: Private Link or the route to the egress device",
)


@dataclass
class View:
    """One diagram: the zones it touches, its nodes (id -> label, zone) and its edges (src, dst, label, kind);
    an edge's dst is a node or, for a denial of a whole zone, `zone:<key>`."""

    key: str
    title: str
    caption: str
    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)

    def node(self, key: str, label: str, zone: str) -> str:
        nid = "n_" + sanitize(key)
        if nid not in self.nodes:
            self.nodes[nid] = (label, zone)
        return nid

    def edge(self, src: str, dst: str, label: str, kind: str) -> None:
        if (src, dst, label, kind) not in self.edges:
            self.edges.append((src, dst, label, kind))

    def zones(self) -> list[str]:
        """The zones of this view's nodes, with their parents, in ZONES order."""
        used = {zone for _, zone in self.nodes.values()} | {d.split(":", 1)[1] for _, d, _, _ in self.edges if d.startswith("zone:")}
        used |= {parent for z in used if (parent := ZONES[z][1]) is not None}
        return [z for z in ZONES if z in used]


def _port_key(port: str) -> tuple[int, int]:
    return reachability.parse_ports(port)


def port_set(protocol: str, ports: Sequence[str]) -> str:
    """"Tcp", ["443", "22"] -> "Tcp 22, 443"; every port of every protocol -> "every port, any protocol"."""
    unique = sorted(dict.fromkeys(ports), key=_port_key)
    # A port inside another range of the set says nothing more: 1433, 3306 and 1433-65535 are 1433-65535.
    unique = [p for p in unique if not any(q != p and _port_key(q)[0] <= _port_key(p)[0] and _port_key(p)[1] <= _port_key(q)[1]
                                           for q in unique)] or unique
    if unique == ["*"] or not unique:
        return "every port, any protocol" if protocol == "*" else f"{protocol} every port"
    return f"{'any protocol' if protocol == '*' else protocol} {', '.join(unique)}"


def _zone_of(endpoint: str, t: Topology, names: dict[str, str]) -> tuple[str, str, str]:
    """(zone, node key, node label) of a matrix endpoint: an address, a service tag, a private endpoint or a pod."""
    net = t.net
    if endpoint == INTERNET:
        return "internet", "internet", "Internet (any public address)"
    if endpoint == AZURE_DATABRICKS:
        return "control", "cp", "control plane addresses (AzureDatabricks tag)"
    if endpoint == combined.WORKSPACE:
        return "control", "ui", "workspace UI / REST API"
    if endpoint in KNOWN_TAGS or endpoint.split(".")[0] in KNOWN_TAGS:
        return "azure", "tag_" + endpoint, f"{endpoint} (service tag)"
    nic = next((n for n in net.endpoint_nics if str(n) == endpoint), None)
    if nic is not None:
        members = [n.name for n in net.endpoint_nics if n.endpoint_class == nic.endpoint_class]
        return "vnet", "pe_" + nic.endpoint_class, f"private endpoints: {nic.endpoint_class}\n({', '.join(members)})"
    if endpoint.startswith("ingress LB"):
        return "aks", "lb", endpoint
    if not is_cidr(endpoint):  # a pod, "namespace/name"
        return "aks", "pod_" + endpoint, f"pod {endpoint}"
    if endpoint in (net.host, net.container):
        return "vnet", "cluster", f"Databricks cluster nodes\nhost {net.host}, container {net.container}"
    if endpoint == net.endpoints:
        return "vnet", "pe_subnet", f"private-endpoint subnet {net.endpoints}"
    address = ipaddress.IPv4Network(endpoint, strict=False)
    if net.aks and address.subnet_of(ipaddress.IPv4Network(net.aks)):
        return "aks", "aks", f"AKS nodes and pods\n{net.aks}"
    if address.subnet_of(ipaddress.IPv4Network(net.vnet)):
        return "vnet", "vnet_" + endpoint, names.get(endpoint, endpoint)
    if endpoint == t.front_end.transit:
        return "transit", "transit", names.get(endpoint, endpoint)
    if is_public(endpoint):
        return "internet", "net_" + endpoint, names.get(endpoint, endpoint)
    return "corporate", "net_" + endpoint, names.get(endpoint, endpoint)


def _kind(access: str) -> str:
    return {"Allow": ALLOW, "Deny": DENY}.get(access, OTHER)


def _egress_node(view: View, t: Topology, plan: dict[str, Any] | None, env: EnvironmentPlan) -> str:
    """The device the VNet leaves through: the hub firewall (firewall egress) or the NAT gateway (from the plan)."""
    if env.firewall_rules is not None:
        hop = env.firewall_private_ip or "(the hub the toolkit creates)"
        return view.node("firewall", f"Azure Firewall {hop}\nrule collection group {env.firewall_rules.name}", "hub")
    nats = [r["inputs"].get("natGatewayName", r["name"]) for r in (plan or {}).get("resources", []) if r["type"] == NAT]
    return view.node("nat", f"NAT gateway {', '.join(nats) or ''}".strip(), "vnet")


def boundary_views(env: EnvironmentPlan, plan: dict[str, Any] | None = None, peered: Sequence[str] = ()) -> list[View]:
    """Three views of the trust boundaries, each small enough for a pull-request comment: who gets in, how the
    VNets get out, and what crosses between the cluster nodes, AKS and the private endpoints. Every edge is the
    combined matrix's verdict (`components.planning.combined.combined_rows`: the NSG tables, the front end, the
    load balancer and the NetworkPolicies), the firewall's rule collection group (`firewall.rule_collection_group`,
    as the environment's plan holds it: `env.firewall_rules`) or a private endpoint's link to its service. All of it
    is read from the environment's plan (`EnvironmentSpec.plan`)."""
    t = env.topology(peered)
    names = labels(t)
    inbound = View("inbound", "Inbound: who reaches the workspace, the cluster nodes and the ingress tier",
                   "From the Internet, the corporate network, the transit VNet and the control plane's addresses.")
    outbound = View("outbound", "Outbound: how the VNets get out",
                    "The NSGs decide what leaves a subnet; the egress device and, for a firewall, its rules decide where it goes.")
    inside = View("inside", "Inside: cluster nodes, AKS and the private endpoints",
                  "The data paths to each class of private endpoint, and each endpoint's Private Link to its service.")
    # (view, src node, dst zone) -> {(dst node, protocol, access): [ports]} for every crossing row.
    crossings: dict[tuple[str, str, str], dict[tuple[str, str, str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    views = {v.key: v for v in (inbound, outbound, inside)}
    egress_ports: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in combined_rows(t):
        sz, skey, slabel = _zone_of(row.source, t, names)
        dz, dkey, dlabel = _zone_of(row.destination, t, names)
        if dkey.startswith("pe_") and sz in OUTSIDE:  # seen from outside, the endpoints are one thing
            dkey, dlabel = "pe_all", f"private endpoints ({len(t.net.endpoint_nics)}, in {t.net.endpoints})"
        if (sz, skey) == (dz, dkey) or (sz == dz and not dkey.startswith("pe_")):
            continue  # within one boundary: not a crossing (pod to pod, host to container)
        if sz in OUTSIDE:
            view = inbound
        elif dz in OUTSIDE:
            view = outbound
            if row.access == "Allow" and dz != "corporate":
                egress_ports[skey].append((row.protocol, row.port))
        else:
            view = inside
        src = view.node(skey, slabel, sz)
        view.node(dkey, dlabel, dz)
        crossings[(view.key, src, dz)][("n_" + sanitize(dkey), row.protocol, row.access, dlabel)].append(row.port)

    denied_into: dict[tuple[str, str], dict[str, tuple[str, str]]] = defaultdict(dict)  # what the denials were about
    for (vkey, src, zone), flows in crossings.items():
        view = views[vkey]
        inner = view.nodes[src][1]
        # A zone-wide denial (never to the box that holds the source: AKS sits in the workspace VNet).
        if all(access == "Deny" for _, _, access, _ in flows) and ZONES[inner][1] != zone:
            view.edge(src, "zone:" + zone, "denied", DENY)  # nothing gets into the zone: one edge to the whole box
            denied_into[(vkey, zone)].update({dst: view.nodes[dst] for dst, _, _, _ in flows})
            continue
        by_target: dict[tuple[str, str], list[str]] = defaultdict(list)
        for (dst, protocol, access, _), ports in flows.items():
            by_target[(dst, access)].append(port_set(protocol, ports))
        for (dst, access), sets in by_target.items():
            if access == "Deny":
                if not any(d == dst and a != "Deny" for d, a in by_target):
                    view.edge(src, dst, "denied", DENY)
            elif not (view is outbound and access == "Allow" and zone != "corporate"):  # else: through the egress device
                view.edge(src, dst, "; ".join(sets), _kind(access))

    # Outbound through the egress device: what the NSGs let out, then what the firewall's rules allow (or the NAT).
    if egress_ports:
        device = _egress_node(outbound, t, plan, env)
        for skey, outgoing in egress_ports.items():
            by_protocol: dict[str, list[str]] = defaultdict(list)
            for protocol, port in outgoing:
                by_protocol[protocol].append(port)
            src = "n_" + sanitize(skey)
            outbound.edge(src, device, "; ".join(port_set(p, ps) for p, ps in by_protocol.items()), LINK)
        if env.firewall_rules is not None:
            for collection in env.firewall_rules.collections:
                for rule in collection.rules:
                    if isinstance(rule, NetworkRule):
                        for dest in rule.destinations:
                            zone, key, label = ("internet", "internet", "Internet (any public address)") if dest == "*" \
                                else ("azure", "tag_" + dest, f"{dest} (service tag)")
                            outbound.edge(device, outbound.node(key, label, zone),
                                          f"{port_set('/'.join(p.capitalize() for p in rule.protocols), rule.ports)} ({rule.name})", ALLOW)
                    else:
                        what = (f"FQDN tag {', '.join(rule.fqdn_tags)}" if rule.fqdn_tags
                                else "any host" if rule.target_fqdns == ("*",) else f"{len(rule.target_fqdns)} FQDNs")
                        target = outbound.node("fqdn_" + rule.name, f"{rule.name}\n{what}", "internet" if rule.target_fqdns == ("*",) else "azure")
                        schemes = ", ".join(f"{proto} {port}" for proto, port in rule.protocols)
                        outbound.edge(device, target, f"{schemes} ({rule.name})", ALLOW)
        else:
            for (vkey, _src, zone), flows in crossings.items():
                if vkey != "outbound" or zone == "corporate":
                    continue
                for (dst, protocol, access, _), ports in flows.items():
                    if access == "Allow":
                        outbound.edge(device, dst, port_set(protocol, ports), ALLOW)

    # Private Link: each endpoint class to the service it serves.
    for nid in list(inside.nodes):
        cls = nid.removeprefix("n_pe_").replace("_", "-")
        if nid.startswith("n_pe_") and cls in ENDPOINT_SERVICE:
            szone, slabel = ENDPOINT_SERVICE[cls]
            target = inside.node("ui" if cls == "backend" else "svc_" + cls, slabel, szone)
            inside.edge(nid, target, "Private Link", LINK)
    for view in views.values():
        _tidy(view)
        # A box only denials point at still shows what they were about.
        for zone in {d.split(":", 1)[1] for _, d, _, _ in view.edges if d.startswith("zone:")}:
            if not any(z == zone for _, z in view.nodes.values()):
                view.nodes.update(denied_into[(view.key, zone)])
    return [v for v in (inbound, outbound, inside) if v.edges]


def _tidy(view: View) -> None:
    """Drop nodes no edge touches, and merge sources of one zone whose edges are the same (the ranges of one IP
    access list verdict, say) into one node listing them."""
    used = {s for s, *_ in view.edges} | {d for _, d, *_ in view.edges}
    view.nodes = {n: v for n, v in view.nodes.items() if n in used}
    targets = {d for _, d, *_ in view.edges}
    same: dict[tuple[str, frozenset[tuple[str, str, str]]], list[str]] = defaultdict(list)
    for nid, (_, zone) in view.nodes.items():
        if nid not in targets:
            same[(zone, frozenset((d, lab, k) for s, d, lab, k in view.edges if s == nid))].append(nid)
    for (zone, _), group in same.items():
        if len(group) < 2:
            continue
        keep = group[0]
        view.nodes[keep] = ("\n".join(view.nodes[n][0] for n in group), zone)
        for n in group[1:]:
            del view.nodes[n]
        view.edges = list(dict.fromkeys((keep if s in group else s, d, lab, k) for s, d, lab, k in view.edges))


def _zone_id(zone: str) -> str:
    return "z_" + zone


def view_mermaid(view: View) -> str:
    """A flowchart (left to right: sources stack in a column, so it stays narrow): one subgraph per zone, the
    legend as a note, edges coloured by kind."""
    lines = ["flowchart LR"]

    def emit(parent: str | None, depth: int) -> None:
        for zone in view.zones():
            label, zparent, _, _ = ZONES[zone]
            if zparent != parent:
                continue
            pad = "    " * depth
            lines.append(f"{pad}subgraph {_zone_id(zone)}[{_mermaid_label(label)}]")
            lines.extend(f"{pad}    {nid}[{_mermaid_label(text)}]" for nid, (text, z) in view.nodes.items() if z == zone)
            emit(zone, depth + 1)
            lines.append(f"{pad}end")

    emit(None, 1)
    lines.append(f"    legend[{_mermaid_label(chr(10).join(LEGEND_LINES))}]")
    # Edges may link to and from subgraphs; `--x` is the cross edge, `-.-` the dotted link (Mermaid's flowchart
    # syntax, mermaid-js/mermaid docs/syntax/flowchart.md); `linkStyle <indexes>` styles edges by definition order.
    # tests/test_report.py parses every diagram with Mermaid's own parser.
    arrows = {ALLOW: "-->", DENY: "-.-x", OTHER: "-.->", LINK: "-.->"}
    for src, dst, label, kind in view.edges:
        target = _zone_id(dst.split(":", 1)[1]) if dst.startswith("zone:") else dst
        lines.append(f"    {src} {arrows[kind]}|{_mermaid_label(label)}| {target}")
    for zone in view.zones():
        _, _, fill, border = ZONES[zone]
        lines.append(f"    style {_zone_id(zone)} fill:{fill},stroke:{border}")
    lines.append("    style legend fill:#ffffff,stroke:#9e9e9e,text-align:left")
    for kind, colour in EDGE_COLOURS.items():
        indexes = [str(i) for i, e in enumerate(view.edges) if e[3] == kind]
        if indexes:
            lines.append(f"    linkStyle {','.join(indexes)} stroke:{colour},stroke-width:2px")
    return "\n".join(lines) + "\n"


def view_dot(view: View) -> str:
    """The same view for Graphviz: clusters for zones (an invisible anchor each, for edges to a whole zone: with
    `compound=true`, `lhead=cluster_x` clips the edge at the cluster's border, https://graphviz.org/docs/attrs/lhead/)."""
    lines = [f"digraph {sanitize(view.key)} {{", "    rankdir=LR;", "    compound=true;", "    newrank=true;",
             f"    label={_dot_str(view.title)};", "    labelloc=t;", '    fontname="Helvetica";',
             '    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=11];',
             '    edge [fontname="Helvetica", fontsize=10];']

    def emit(parent: str | None, depth: int) -> None:
        for zone in view.zones():
            label, zparent, fill, border = ZONES[zone]
            if zparent != parent:
                continue
            pad = "    " * depth
            lines.append(f"{pad}subgraph cluster_{zone} {{")
            lines.append(f'{pad}    label={_dot_str(label)}; style="rounded,filled"; fillcolor="{fill}"; color="{border}";')
            lines.append(f"{pad}    anchor_{zone} [shape=point, style=invis, width=0, label=\"\"];")
            lines.extend(f"{pad}    {nid} [label={_dot_str(text)}];" for nid, (text, z) in view.nodes.items() if z == zone)
            emit(zone, depth + 1)
            lines.append(f"{pad}}}")

    emit(None, 1)
    legend = "".join(line.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for line in LEGEND_LINES[1:])  # left-justified
    lines += ["    subgraph cluster_legend {", f"        label={_dot_str(LEGEND_LINES[0])}; style=rounded; color=\"#9e9e9e\";",
              f"        legend [shape=note, style=filled, fillcolor=white, label=\"{legend}\"];",
              "    }"]
    styles = {ALLOW: "", DENY: ", style=dashed, arrowhead=tee", OTHER: ", style=dotted", LINK: ", style=dotted"}
    for src, dst, label, kind in view.edges:
        if dst.startswith("zone:"):
            zone = dst.split(":", 1)[1]
            target, extra = f"anchor_{zone}", f", lhead=cluster_{zone}"
        else:
            target, extra = dst, ""
        lines.append(f"    {src} -> {target} [label={_dot_str(label)}, color=\"{EDGE_COLOURS[kind]}\", "
                     f"fontcolor=\"{EDGE_COLOURS[kind]}\"{styles[kind]}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


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


VERDICT = {"Allow": "allowed by", "Deny": "denied by", "Partial": "partly allowed:", "Depends": "depends on"}


def grouped_reachability(t: Topology) -> str:
    """The combined matrix (`combined.combined_rows`), one row per source, destination and verdict: the ports that
    share a verdict and its deciding rule grouped, each row worded `source -> destination: allowed/denied by <rule>`."""
    names = labels(t)
    groups: dict[tuple[str, str, str, str, str, str], list[str]] = defaultdict(list)
    for r in combined_rows(t):
        groups[(r.plane, r.source, r.destination, r.protocol, r.access, r.decided_by)].append(r.port)
    lines = [LEGEND, "", "Rows with the same source, destination, verdict and deciding rule are one row, with their ports.", "",
             "| plane | ports | source -> destination: verdict |", "|---|---|---|"]
    for (plane, source, destination, protocol, access, decided), ports in groups.items():
        flow = f"{names.get(source, source)} -> {names.get(destination, destination)}: {VERDICT[access]} {decided}"
        lines.append(f"| {plane} | {_cell(port_set(protocol, ports))} | {_cell(flow)} |")
    return "\n".join(lines) + "\n"


def svg_name(view: View) -> str:
    return f"boundaries-{view.key}.svg"


def build_report(plan: dict[str, Any], *, tier: str = "?", region: str = "?", advisories: list[str] | None = None,
                 check_result: Any = None, dot_available: bool | None = None,
                 reachability: str | None = None, spec: EnvironmentSpec | None = None,
                 peered: Sequence[str] = (), views: Sequence[View] | None = None,
                 svg_error: str | None = None) -> tuple[str, str, str]:
    """(report markdown, mermaid text, dot text of the resource topology) for a plan (the `planfile` schema).

    With `spec`, the report opens with the trust-boundary views (`boundary_views`, or the `views` given) and its
    reachability section is the combined matrix of every layer, grouped (`peered`: further corporate ranges routed
    into the VNet); `reachability` alone is a ready-made NSG matrix (`reachability.matrix_markdown`). The SVGs are
    named when `dot_available`; otherwise, or with `svg_error`, the report says they were skipped and why.
    """
    result = check_result if check_result is not None else check.check_plan(plan)
    graph = topology(plan)
    mermaid, dot = to_mermaid(graph), to_dot(graph)
    if dot_available is None:
        dot_available = shutil.which("dot") is not None

    out = [f"# brickwall report: stack {plan['stack']}", "",
           f"- stack: `{plan['stack']}`", f"- tier: `{tier}`", f"- region: `{region}`",
           "- offline: mock runtime (nothing sent to Azure)", "", f"**Plan summary:** {render.summary(plan)}", ""]
    if views is None and spec is not None:
        views = boundary_views(spec.plan, plan, peered)
    svgs = [SVG_FILE, *(svg_name(v) for v in views or [])]
    if svg_error:
        svg_note = f"SVG renderings skipped: Graphviz (`dot`) failed: {svg_error}"
    elif dot_available:
        svg_note = "SVG renderings (Graphviz, offline) beside this report: " + ", ".join(f"`{n}`" for n in svgs) + "."
    else:
        svg_note = (f"SVG renderings ({', '.join(f'`{n}`' for n in svgs)}) skipped: Graphviz (`dot`) is not installed "
                    "on this machine (install the distribution's `graphviz` package).")
    if views:
        out += ["## Trust boundaries", "",
                "Each box is a trust boundary; each arrow a path across one, with its protocol and ports, as the "
                "reachability matrix below decides it (NSGs, the workspace front end, the load balancer, the "
                "NetworkPolicies) and, for egress through a firewall, its rule collection group. One view per concern, "
                "so each stays readable; every view carries its legend.", ""]
        for view in views:
            out += [f"### {view.title}", "", view.caption, "", "```mermaid", view_mermaid(view).rstrip("\n"), "```", ""]
        out += [svg_note, ""]
    out += ["## Resources by component", "", "| Component | Type | Resources |", "| --- | --- | --- |"]
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
        out += ["", "## Reachability", "",
                "Every layer between a source and what it reaches, evaluated from the same tables and objects the "
                "components create: the subnets' NSGs (with the rules Databricks injects and Azure's default rules, first "
                "match by priority), the workspace's public network access, IP access lists and private endpoints, the AKS "
                "subnet, the ingress load balancer and its source ranges, and the Kubernetes NetworkPolicies.", "",
                grouped_reachability(spec.plan.topology(peered)).rstrip("\n")]
    elif reachability:
        out += ["", "## Reachability (NSGs)", "",
                "Each flow evaluated against both subnets' NSG rule tables (the same tables the components create, "
                "plus the rules Databricks injects and Azure's default rules), first match by priority.", "",
                reachability.rstrip("\n")]
    out += ["", "## Topology", "", "Every resource, built from the recorded registrations (large: open it when needed).", "",
            "<details><summary>Resource topology (Mermaid)</summary>", "", "```mermaid", mermaid.rstrip("\n"), "```", "",
            "</details>", ""]
    if not views:
        out.append(svg_note)
    return "\n".join(out) + "\n", mermaid, dot


def write_report(plan: dict[str, Any], out_dir: str | Path, **kwargs: Any) -> list[Path]:
    """report.md, and the SVGs Graphviz renders offline from the same graphs when `dot` is on PATH."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dot_bin = shutil.which("dot")
    spec = kwargs.get("spec")
    views = boundary_views(spec.plan, plan, kwargs.get("peered", ())) if spec is not None else []
    sources = {SVG_FILE: to_dot(topology(plan)), **{svg_name(v): view_dot(v) for v in views}}
    written: list[Path] = []
    error = None
    if dot_bin:
        for name, source in sources.items():
            try:
                done = subprocess.run([dot_bin, "-Tsvg"], input=source, capture_output=True, text=True, check=False, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as exc:
                error = f"{name}: {exc}"
                break
            if done.returncode != 0:
                error = f"{name}: exit {done.returncode}: {done.stderr.strip()[:300]}"
                break
            (out / name).write_text(done.stdout)
            written.append(out / name)
    text, _, _ = build_report(plan, dot_available=dot_bin is not None, views=views, svg_error=error, **kwargs)
    (out / REPORT_FILE).write_text(text)
    return [out / REPORT_FILE, *written]
