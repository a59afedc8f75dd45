"""The combined reachability matrix: every layer between a source and what it wants to reach. Pure, no Pulumi.

Four planes, one table (`combined_rows`, rendered by `combined_markdown` with its legend):

* **subnets**: the NSG matrix of `reachability.subnet_matrix` (host and container subnets, and every private endpoint
  of the endpoint subnet by its application security group).
* **aks subnet**: flows to the ingress tier's nodes and pods (Azure CNI gives pods addresses of the AKS subnet, so
  one NSG filters both): the sender's NSG, if it has one, then the AKS subnet's own NSG
  (`nsg_rules.aks_subnet_rules`), and the fact that the nodes have private addresses only (private cluster, egress
  through NAT or the firewall). The AKS subnet's NSG denies the Databricks cluster subnets both ways; its outbound
  deny is what keeps pods off the cluster nodes, since the workspace NSG admits all of VirtualNetwork at priority 100
  (Databricks' worker-to-worker rule). AKS keeps an NSG of its own on the node NICs for load-balancer rules; it is
  outside the spec and not modelled beyond the Service's source ranges below.
* **workspace**: the UI / REST API on 443 (`front_end`): a private endpoint when the source has a private path
  (then the private-endpoint subnet's NSG decides and the IP access lists do not apply), otherwise public network
  access and the IP access lists.
* **ingress / kubernetes**: the ingress load balancer on 443 (internal: a private frontend only; public: a public IP),
  its `loadBalancerSourceRanges` (AKS writes them into the cluster's own NSG), then the NetworkPolicies
  (`k8s_flows`, with `externalTrafficPolicy: Local` keeping the client address) to Traefik's 8443; and the pods'
  own flows, with the NSG of any subnet of ours they reach.

Corporate ranges: the private ranges the spec names as ingress clients (load-balancer source ranges, route
allowlists) plus any `peered` given. They are assumed routed into the workspace VNet (peering or a gateway),
which puts them in Azure's `VirtualNetwork` tag, and routed to the transit VNet resolving its zone (so they
reach the private front end). Access values: Allow, Deny, Partial (part of the source range is allowed, part
denied), Depends (decided by something outside the spec, named in the row).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from components.planning import ingress as ing
from components.planning.front_end import (
    FrontEnd,
    Outcome,
    Step,
    decided_by,
    is_public,
    outcome,
    private_path,
    public_steps,
)
from components.planning.k8s_flows import Cluster, Endpoint, Pod
from components.planning.reachability import (
    AZURE_DATABRICKS,
    INTERNET,
    EndpointNic,
    NetworkInputs,
    Row,
    evaluate,
    flow,
    label,
    subnet_matrix,
)

HTTPS = "443"
AKS_PORTS = ("22", "443", "10250")
WORKSPACE = "workspace UI/API"
PRIVATE_LINK_LISTS = Step("IP access lists", None, "not applied to private-link traffic")


@dataclass(frozen=True)
class CombinedRow:
    plane: str
    source: str
    destination: str
    port: str
    protocol: str
    steps: tuple[Step, ...]

    @property
    def access(self) -> Outcome:
        return outcome(self.steps)

    @property
    def decided_by(self) -> str:
        return decided_by(self.steps)


@dataclass(frozen=True)
class Ingress:
    kind: str  # "internal" or "public"
    source_ranges: tuple[str, ...]
    layout: ing.TierLayout


@dataclass(frozen=True)
class Topology:
    """Everything the combined matrix reads, as plain values."""

    net: NetworkInputs
    front_end: FrontEnd
    egress: str  # how pods and nodes leave the VNet, for rows that end on the Internet
    ingress: Ingress | None = None


def corporate_ranges(named: Sequence[str], vnet: str) -> tuple[str, ...]:
    """The private ranges among `named` (the spec's ingress clients), widest first, without ranges inside another or
    inside the workspace VNet `vnet`."""
    nets = sorted({ipaddress.IPv4Network(c) for c in named if not is_public(c)}, key=lambda n: (n.prefixlen, n))
    kept: list[ipaddress.IPv4Network] = []
    for n in nets:
        if not any(n.subnet_of(k) for k in kept) and not n.subnet_of(ipaddress.IPv4Network(vnet)):
            kept.append(n)
    return tuple(str(n) for n in kept)


def firewall_egress(firewall_private_ip: str | None, rule_collection_group: str) -> str:
    """The hub firewall's allow rules are the planned rule collection group (components/planning/firewall.py)."""
    hop = firewall_private_ip or "of the hub the toolkit creates"
    return f"firewall {hop} in the peered hub, allowing only what rule collection group {rule_collection_group} lists"


def _legs(row: Row) -> list[Step]:
    return [Step(f"{leg.nsg} {leg.direction.lower()}", leg.decision.access, leg.decision.rule_name) for leg in row.legs]


def _in(source: str, ranges: Sequence[str | None]) -> bool:
    if source in (INTERNET, AZURE_DATABRICKS) or isinstance(source, Pod):
        return False
    net = ipaddress.IPv4Network(source)
    return any(r is not None and net.subnet_of(ipaddress.IPv4Network(r)) for r in ranges)


def _public(source: str) -> bool:
    return source in (INTERNET, AZURE_DATABRICKS) or is_public(source)


# --- workspace front end -----------------------------------------------------------------------


def workspace_steps(t: Topology, source: str) -> list[Step]:
    """Every layer between `source` and the workspace UI / REST API on 443."""
    path = private_path(source, t.front_end)
    if path == "backend":
        nsg = flow(t.net, source, t.net.endpoint_nic("backend"), HTTPS)
        return [Step("private path", None, "back-end private endpoint (the workspace VNet's zone)"), *_legs(nsg), PRIVATE_LINK_LISTS]
    if path == "frontend":
        return [Step("private path", None, "front-end private endpoint in the transit VNet (no NSG on its subnet)"), PRIVATE_LINK_LISTS]
    return public_steps(source, t.front_end)


def workspace_sources(t: Topology) -> list[str]:
    lists = t.front_end.ip_access
    vnet = [t.net.host, t.net.container, *([t.net.aks] if t.net.aks else [])]
    cidrs = [c for _, cs in (*lists.allow, *lists.block) for c in cs]
    return list(dict.fromkeys([INTERNET, *cidrs, *t.front_end.corporate, *([t.front_end.transit] if t.front_end.transit else []), *vnet]))


# --- the AKS subnet, the load balancer and the pods --------------------------------------------


def aks_steps(t: Topology, source: str, port: str) -> list[Step]:
    assert t.net.aks is not None
    if _public(source):
        return [Step("route", "Deny", "AKS nodes and pods have private addresses only (private cluster, no public IP)")]
    if source not in (t.net.host, t.net.container) and not _in(source, [t.net.vnet, *t.net.peered]):
        return [Step("route", "Deny", f"{source} is not routed into the VNet")]
    return _legs(flow(t.net, source, t.net.aks, port))


def aks_outbound(t: Topology, destination: str, port: int, protocol: str) -> Step:
    """The AKS subnet's NSG on a pod's (or node's) way out to an address outside our other subnets."""
    assert t.net.aks is not None
    d = evaluate(t.net.aks_rules(), "Outbound", t.net.aks, destination, str(port), "Udp" if protocol == "UDP" else "Tcp",
                 t.net.context)
    return Step("aks outbound", d.access, d.rule_name)


def _pods(layout: ing.TierLayout) -> dict[str, Pod]:
    pods = {
        "traefik": Pod(layout.ingress_namespace, "traefik", ing.CONTROLLER),
        "cert-manager": Pod(ing.CERT_MANAGER_NAMESPACE, "cert-manager", {"app.kubernetes.io/name": "cert-manager"}),
        "kube-dns": Pod("kube-system", "kube-dns", {"k8s-app": "kube-dns"}),
        "other": Pod("default", "any-pod", {"app": "other"}),
        # A pod no NetworkPolicy of the tier isolates (kube-system is AKS's): only the NSGs stand in its way.
        "system": Pod("kube-system", "any-system-pod", {"app": "system"}),
    }
    if layout.oauth2_proxy:
        pods["oauth2-proxy"] = Pod(layout.ingress_namespace, "oauth2-proxy", ing.OAUTH2_PROXY)
    if layout.metrics_namespace:
        pods["metrics"] = Pod(layout.metrics_namespace, "prometheus", {"app.kubernetes.io/name": "prometheus"})
    for c in layout.connectors:
        pods[c.name] = Pod(layout.apps_namespace, c.name, ing.app_labels(c.name))
    return pods


PodTarget = Endpoint | EndpointNic  # a pod, an address or tag, or a private endpoint in the endpoint subnet


def pod_steps(t: Topology, cluster: Cluster, src: Endpoint, dst: PodTarget, port: int, protocol: str = "TCP") -> list[Step]:
    """The NetworkPolicies, then for a pod leaving for an address: our NSG there, or the way out of the VNet.
    A private endpoint meets the NetworkPolicies as its subnet (its address is one of the subnet's)."""
    verdict = cluster.connection(src, dst.subnet if isinstance(dst, EndpointNic) else dst, port, protocol)
    steps = [Step("NetworkPolicy", "Allow" if verdict.allowed else "Deny", verdict.reason)]
    if isinstance(src, Pod) and isinstance(dst, EndpointNic) and verdict.allowed:
        assert t.net.aks is not None
        steps += _legs(flow(t.net, t.net.aks, dst, str(port), "Udp" if protocol == "UDP" else "Tcp"))
    elif isinstance(src, Pod) and isinstance(dst, str) and verdict.allowed:
        assert t.net.aks is not None
        if dst == INTERNET or (_public(dst) and not _in(dst, [t.net.vnet, *t.net.peered])):
            steps += [aks_outbound(t, dst, port, protocol), Step("egress", None, t.egress)]
        elif dst in (t.net.host, t.net.container):
            steps += _legs(flow(t.net, t.net.aks, dst, str(port), "Udp" if protocol == "UDP" else "Tcp"))
        else:
            steps.append(aks_outbound(t, dst, port, protocol))
    return steps


def load_balancer_steps(t: Topology, cluster: Cluster, source: str) -> list[Step]:
    """A client to the ingress load balancer's 443, forwarded to Traefik's websecure port."""
    assert t.ingress is not None
    ingress = t.ingress
    steps: list[Step] = []
    if ingress.kind == "internal":
        # https://learn.microsoft.com/azure/aks/internal-lb: no public IP; reachable from the VNet and peered networks.
        if _public(source):
            return [Step("internal load balancer", "Deny", "a private frontend only: nothing on the Internet reaches it")]
        if not _in(source, [t.net.vnet, *t.net.peered]):
            return [Step("internal load balancer", "Deny", f"{source} is not routed into the VNet")]
        steps.append(Step("internal load balancer", None, "private frontend in the AKS subnet"))
    elif _public(source):
        steps.append(Step("public load balancer", None, "public frontend IP"))
    else:
        return [Step("public load balancer", "Depends", f"{source} reaches the public IP from its egress address, not in the spec")]
    ranges = ingress.source_ranges
    if not ranges:
        steps.append(Step("loadBalancerSourceRanges", None, "not set: every source that reaches the frontend"))
    elif source in (INTERNET, AZURE_DATABRICKS):
        return [*steps, Step("loadBalancerSourceRanges", "Deny", "an address outside every range")]
    else:
        net = ipaddress.IPv4Network(source)
        if any(net.subnet_of(ipaddress.IPv4Network(r)) for r in ranges):
            steps.append(Step("loadBalancerSourceRanges", None, "within " + next(r for r in ranges if net.subnet_of(ipaddress.IPv4Network(r)))))
        elif any(net.overlaps(ipaddress.IPv4Network(r)) for r in ranges):
            return [*steps, Step("loadBalancerSourceRanges", "Partial", f"only part of {source} is within {', '.join(ranges)}")]
        else:
            return [*steps, Step("loadBalancerSourceRanges", "Deny", f"outside {', '.join(ranges)}")]
    # The AKS subnet's NSG sees the client's address (externalTrafficPolicy Local) on the frontend's 443.
    assert t.net.aks is not None
    d = evaluate(t.net.aks_rules(), "Inbound", source, t.net.aks, HTTPS, "Tcp", t.net.context)
    steps.append(Step("aks inbound", d.access, d.rule_name))
    if d.access == "Deny":
        return steps
    traefik = _pods(ingress.layout)["traefik"]
    return [*steps, *pod_steps(t, cluster, source, traefik, ing.TRAEFIK_WEBSECURE_PORT)]


def load_balancer_sources(t: Topology) -> list[str]:
    assert t.ingress is not None
    lists = t.front_end.ip_access
    return list(dict.fromkeys([
        INTERNET, *t.ingress.source_ranges, *t.ingress.layout.client_cidrs, *t.net.peered,
        *(c for _, cs in lists.allow for c in cs), t.net.host,
    ]))


def kubernetes_flows(t: Topology) -> list[tuple[Endpoint, PodTarget, int, str]]:
    """The pod flows the matrix shows: the ones the tier needs and the ones it must refuse."""
    assert t.ingress is not None
    layout = t.ingress.layout
    p = _pods(layout)
    connectors = [p[c.name] for c in layout.connectors]
    flows: list[tuple[Endpoint, PodTarget, int, str]] = [(INTERNET, p["traefik"], ing.TRAEFIK_WEBSECURE_PORT, "TCP")]
    flows += [(c, p["traefik"], ing.TRAEFIK_WEBSECURE_PORT, "TCP") for c in layout.client_cidrs]
    flows += [(p[k], p["traefik"], ing.TRAEFIK_METRICS_PORT, "TCP") for k in ("metrics", "other") if k in p]
    if "oauth2-proxy" in p:
        flows += [(p["traefik"], p["oauth2-proxy"], ing.OAUTH2_PROXY_PORT, "TCP"), (p["other"], p["oauth2-proxy"], ing.OAUTH2_PROXY_PORT, "TCP"),
                  (p["oauth2-proxy"], INTERNET, 443, "TCP"), (p["oauth2-proxy"], "10.0.0.0/8", 443, "TCP")]
    for c, spec in zip(connectors, layout.connectors, strict=True):
        flows += [(p["traefik"], c, spec.port, "TCP"), (p["other"], c, spec.port, "TCP"),
                  # The NetworkPolicy admits the whole endpoint subnet; the subnet's NSG admits the back-end endpoint only.
                  *((c, nic, 443, "TCP") for nic in t.net.endpoint_nics), *((c, a, 443, "TCP") for a in layout.approved_egress_cidrs),
                  (c, INTERNET, 443, "TCP"), (c, t.net.host, 22, "TCP"), (c, p["kube-dns"], 53, "UDP")]
        if "oauth2-proxy" in p:
            flows.append((p["oauth2-proxy"], c, spec.port, "TCP"))
        flows += [(c, other, o.port, "TCP") for other, o in zip(connectors, layout.connectors, strict=True) if other != c]
    # Pods are VNet addresses of the AKS subnet (Azure CNI): even an unisolated one never reaches the cluster nodes.
    flows += [(p["system"], w, port, "TCP") for w in (t.net.host, t.net.container) for port in (22, 443)]
    flows += [(p["cert-manager"], layout.api_server_cidr, 443, "TCP"), (layout.api_server_cidr, p["cert-manager"], 10250, "TCP"),
              (p["traefik"], layout.api_server_cidr, 443, "TCP"), (p["other"], p["cert-manager"], 10250, "TCP")]
    return flows


# --- the matrix --------------------------------------------------------------------------------


def combined_rows(t: Topology) -> list[CombinedRow]:
    rows = [CombinedRow("subnets", r.source, str(r.destination), r.port, r.protocol, tuple(_legs(r))) for r in subnet_matrix(t.net)]
    if t.net.aks is not None:
        for source in (INTERNET, AZURE_DATABRICKS, t.net.host, t.net.container, *t.net.peered):
            rows += [CombinedRow("aks subnet", source, t.net.aks, port, "Tcp", tuple(aks_steps(t, source, port))) for port in AKS_PORTS]
    rows += [CombinedRow("workspace", s, WORKSPACE, HTTPS, "Tcp", tuple(workspace_steps(t, s))) for s in workspace_sources(t)]
    if t.ingress is not None:
        cluster = Cluster(ing.network_policies(t.ingress.layout))
        lb = f"ingress LB ({t.ingress.kind}) to traefik:{ing.TRAEFIK_WEBSECURE_PORT}"
        rows += [CombinedRow("ingress", s, lb, HTTPS, "Tcp", tuple(load_balancer_steps(t, cluster, s))) for s in load_balancer_sources(t)]
        for src, dst, port, protocol in kubernetes_flows(t):
            rows.append(CombinedRow("kubernetes", str(src), str(dst), str(port), protocol.capitalize(),
                                    tuple(pod_steps(t, cluster, src, dst, port, protocol))))
    return rows


def labels(t: Topology) -> dict[str, str]:
    net = t.net
    out = {net.host: f"host ({net.host})", net.container: f"container ({net.container})",
           net.endpoints: f"private-endpoint ({net.endpoints})"}
    out.update({str(nic): label(nic, net) for nic in net.endpoint_nics})
    if net.aks:
        out[net.aks] = f"aks ({net.aks})"
    if t.front_end.transit:
        out[t.front_end.transit] = f"transit VNet ({t.front_end.transit})"
    out.update({p: f"peered {p}" for p in net.peered if p not in out})
    lists = t.front_end.ip_access
    for kind, entries in (("ALLOW", lists.allow), ("BLOCK", lists.block)):
        for list_label, cidrs in entries:
            out.update({c: f"{c} ({kind} {list_label})" for c in cidrs if c not in out})
    return out


LEGEND = """Planes: **subnets** (both NSGs of a subnet-to-subnet flow; a private endpoint is named with the application
security group of its class, which the endpoint subnet's rules admit to), **aks subnet** (the ingress tier's nodes),
**workspace** (the UI / REST API on 443), **ingress** (the ingress load balancer's 443 through to Traefik) and
**kubernetes** (pod flows under the NetworkPolicies). *decided by* names, for a flow that gets through, every
layer it crosses, and otherwise the layer that stops it, as `layer: reason`:

- `<nsg> inbound|outbound: <rule>`: the first matching rule of that NSG by priority (Azure's default rules
  included); `aks` is the AKS subnet's NSG, which holds pods and nodes alike (Azure CNI) off the cluster subnets.
- `private path`, `public network access`, `IP access lists`: the workspace front end. Private-link requests
  are never filtered by the IP access lists; public ones are (a BLOCK match wins over every ALLOW list; with an
  ALLOW list, an address on none is denied).
- `internal|public load balancer`, `loadBalancerSourceRanges`, `NetworkPolicy`: the ingress path.
- `route`, `egress`: addresses nothing routes to, and the way out of the VNet.

Access: **Allow**, **Deny**, **Partial** (part of the source range is allowed, part denied) or **Depends**
(decided by something outside the spec, named in the row). Corporate (peered) ranges are the private client
ranges the spec names, assumed routed into the workspace VNet and to the transit VNet."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def combined_markdown(t: Topology) -> str:
    """The legend and one table of every row, in plane order."""
    names = labels(t)

    def name(endpoint: str) -> str:
        return names.get(endpoint, endpoint)

    lines = [LEGEND, "", "| source | destination | port | protocol | access | decided by |", "|---|---|---|---|---|---|"]
    lines += [f"| {name(r.source)} | {name(r.destination)} | {r.port} | {r.protocol} | {r.access} | {_cell(r.decided_by)} |"
              for r in combined_rows(t)]
    return "\n".join(lines) + "\n"

