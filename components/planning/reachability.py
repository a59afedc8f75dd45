"""NSG evaluation and a reachability matrix for the workspace's subnets. Pure, no Pulumi.

`evaluate` decides one flow against one NSG the way Azure does: the table's rules plus
Azure's default rules, lowest priority number first, first match wins. `subnet_matrix`
asks the same question for every source, destination and port the secured topology cares
about, reading the rule tables from `components.planning.nsg_rules` (the very rows the
component creates), and `matrix_markdown` renders the answer for the report.

Endpoints. A flow's source and destination are each either a CIDR (or bare IPv4 address)
or a service-tag name. Tag semantics, explicit:

* `*` in a rule matches everything.
* `VirtualNetwork` in a rule matches a CIDR inside the VNet's address space or one of the
  peered / on-premises ranges given as input (`NetworkContext.peered`), and the query tag
  `VirtualNetwork`. Ranges that are neither (an unpeered RFC 1918 range) match neither
  `VirtualNetwork` nor `Internet`, so only `*` rules and the default deny decide for them.
* `Internet` in a rule matches a public CIDR outside the VNet and the peered ranges, the
  query tag `Internet`, and the query tags of Azure services reached over public addresses
  (`INTERNET_HOSTED_TAGS`: Storage, Sql, EventHub, AzureActiveDirectory,
  AzureFrontDoor.Frontend, AzureDatabricks, ...), because Azure's Internet tag covers
  Azure's own public ranges. `AzureLoadBalancer` (168.63.129.16) is not Internet.
* Any other service tag is an opaque named set: a rule naming it matches only a query
  naming the same tag, or a regional form of it (`Storage.WestEurope` matches `Storage`).
  A service tag never matches a CIDR rule and a CIDR query never matches a service-tag rule
  (other than VirtualNetwork and Internet, above).
* The query tag `Internet` stands for an arbitrary public address not named by any CIDR in
  the rules: it matches only `Internet` and `*` rules. Ask about an allowlisted public range
  by its CIDR instead.

Ranges in a query (a CIDR wider than /32, a port range such as 8443-8451, protocol `*`)
are sets: a rule matches when it covers the whole set. When a rule covers only part of it
the answer depends on which member is meant, so `evaluate` raises `PartialMatchError`
rather than guess; split the query.

Private endpoints and application security groups. A rule may name application security groups
(ASGs) as its destination instead of addresses; it then applies only to the network interfaces in
them. A private endpoint is queried as an `EndpointNic`: an address somewhere in its subnet (so an
address rule matches it when the rule covers the whole subnet) that is a member of its class's ASG.
An address query meets an ASG rule as a set: when the query overlaps the subnet where the ASG's
members live (`NetworkContext.asg_subnets`) the rule covers only part of it, and `evaluate` raises
`PartialMatchError`; ask about the endpoint instead.

Subnet-to-subnet flows cross two NSGs: the source subnet's outbound rules, then the
destination subnet's inbound rules. Both must allow.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from components import facts
from components.facts import AKS, CONTAINER, ENDPOINTS, HOST
from components.planning.addresses import SubnetPlan
from components.planning.data_paths import (
    CLUSTER_PORTS,
    CONNECTOR_PORTS,
    ENDPOINTS_OF_CLASS,
    DataPath,
    promised_paths,
)
from components.planning.nsg_rules import (
    Access,
    Direction,
    NsgRule,
    Protocol,
    aks_subnet_rules,
    private_endpoint_subnet_rules,
    workspace_subnet_rules,
)

ANY = "*"
VIRTUAL_NETWORK = "VirtualNetwork"
INTERNET = "Internet"
AZURE_LOAD_BALANCER = "AzureLoadBalancer"
AZURE_DATABRICKS = "AzureDatabricks"

# Azure service tags whose addresses are public, hence inside Azure's `Internet` tag.
INTERNET_HOSTED_TAGS = frozenset({
    "Storage", "Sql", "EventHub", "AzureActiveDirectory", "AzureFrontDoor.Frontend", AZURE_DATABRICKS,
    "AzureMonitor", "AzureKeyVault", "AzureContainerRegistry", "MicrosoftContainerRegistry", "AzureCloud",
})
KNOWN_TAGS = INTERNET_HOSTED_TAGS | {VIRTUAL_NETWORK, INTERNET, AZURE_LOAD_BALANCER}

ALL_PORTS = (0, 65535)

# Addresses outside Azure's Internet tag wherever they are: private, shared, loopback, link-local, reserved.
NON_PUBLIC = facts.NON_PUBLIC


class PartialMatchError(ValueError):
    """A rule covers only part of a queried range: the decision differs inside the range."""


@dataclass(frozen=True)
class EndpointNic:
    """A private endpoint's network interface: one address in `subnet`, a member of the ASGs `asgs`."""

    name: str  # the endpoint's key, e.g. "sql", "lake-dfs"
    endpoint_class: str
    subnet: str
    asgs: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} endpoint"


Target = str | EndpointNic  # what a flow goes to: an address, a service tag, or a private endpoint


@dataclass(frozen=True)
class NetworkContext:
    """What `VirtualNetwork` means for this NSG: the VNet's own space plus the peered ranges; and where the
    members of each application security group live, as (ASG, subnet) pairs."""

    vnet: tuple[str, ...]
    peered: tuple[str, ...] = ()
    asg_subnets: tuple[tuple[str, str], ...] = ()

    @property
    def virtual_network(self) -> tuple[IPv4Network, ...]:
        return tuple(_network(c) for c in (*self.vnet, *self.peered))


@dataclass(frozen=True)
class Decision:
    access: Access
    rule_name: str
    priority: int
    default_rule: bool = False


def _rule(name: str, priority: int, direction: Direction, access: Access, src: str, dst: str) -> NsgRule:
    return NsgRule(name=name, priority=priority, direction=direction, access=access, protocol="*",
                   sources=(src,), destinations=(dst,), destination_ports=(ANY,), owner="databricks",
                   description=f"Azure default rule {name}.")


# Azure's default rules, present in every NSG; they cannot be deleted, only overridden by lower numbers.
DEFAULT_RULES: tuple[NsgRule, ...] = (
    _rule("AllowVnetInBound", 65000, "Inbound", "Allow", VIRTUAL_NETWORK, VIRTUAL_NETWORK),
    _rule("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", AZURE_LOAD_BALANCER, ANY),
    _rule("DenyAllInBound", 65500, "Inbound", "Deny", ANY, ANY),
    _rule("AllowVnetOutBound", 65000, "Outbound", "Allow", VIRTUAL_NETWORK, VIRTUAL_NETWORK),
    _rule("AllowInternetOutBound", 65001, "Outbound", "Allow", ANY, INTERNET),
    _rule("DenyAllOutBound", 65500, "Outbound", "Deny", ANY, ANY),
)
DEFAULT_RULE_NAMES = frozenset(r.name for r in DEFAULT_RULES)


# --- endpoint matching -------------------------------------------------------------------------


def _network(value: str) -> IPv4Network:
    return ipaddress.IPv4Network(value, strict=False)


def is_cidr(value: str) -> bool:
    try:
        _network(value)
    except ValueError:
        return False
    return True


def _tag_matches(rule_tag: str, query_tag: str) -> bool:
    return query_tag == rule_tag or query_tag.startswith(rule_tag + ".")


def _within(query: IPv4Network, ranges: Iterable[IPv4Network], what: str) -> bool:
    ranges = list(ranges)
    if any(query.subnet_of(r) for r in ranges):
        return True
    if any(query.overlaps(r) for r in ranges):
        raise PartialMatchError(f"{query} is only partly inside {what}; split the query")
    return False


def endpoint_matches(rule_endpoint: str, target: Target, ctx: NetworkContext) -> bool:
    """Whether a rule's source/destination entry covers the queried endpoint (see the module docstring)."""
    query = target.subnet if isinstance(target, EndpointNic) else target
    if rule_endpoint == ANY:
        return True
    query_is_cidr = is_cidr(query)
    if rule_endpoint == VIRTUAL_NETWORK:
        if query_is_cidr:
            return _within(_network(query), ctx.virtual_network, "the VirtualNetwork tag")
        return query == VIRTUAL_NETWORK
    if rule_endpoint == INTERNET:
        if query_is_cidr:
            net = _network(query)
            if _within(net, ctx.virtual_network, "the VirtualNetwork tag"):
                return False
            return not _within(net, NON_PUBLIC, "the non-public ranges")
        return query == INTERNET or any(_tag_matches(t, query) for t in INTERNET_HOSTED_TAGS)
    if is_cidr(rule_endpoint):
        if not query_is_cidr:
            return False
        return _within(_network(query), [_network(rule_endpoint)], rule_endpoint)
    # An opaque service tag.
    return not query_is_cidr and _tag_matches(rule_endpoint, query)


# --- ports and protocols -----------------------------------------------------------------------


def parse_ports(spec: str | int) -> tuple[int, int]:
    """"443" -> (443, 443); "8443-8451" -> (8443, 8451); "*" -> every port."""
    if isinstance(spec, int):
        lo = hi = spec
    elif spec.strip() == ANY:
        return ALL_PORTS
    elif "-" in spec:
        a, b = spec.split("-", 1)
        lo, hi = int(a), int(b)
    else:
        lo = hi = int(spec)
    if not 0 <= lo <= hi <= 65535:
        raise ValueError(f"{spec!r} is not a port or port range in 0-65535")
    return lo, hi


def _ports_match(rule_ports: Sequence[str], query: tuple[int, int]) -> bool:
    ranges = [parse_ports(p) for p in rule_ports]
    if any(lo <= query[0] and query[1] <= hi for lo, hi in ranges):
        return True
    if any(lo <= query[1] and query[0] <= hi for lo, hi in ranges):
        raise PartialMatchError(f"ports {query[0]}-{query[1]} are only partly covered by {list(rule_ports)}; split the query")
    return False


def _protocol_matches(rule: Protocol, query: Protocol) -> bool:
    if rule in (ANY, query):
        return True
    if query == ANY:
        raise PartialMatchError(f"protocol * is only partly covered by a {rule} rule; ask for Tcp and Udp separately")
    return False


# --- evaluation --------------------------------------------------------------------------------


def asg_matches(asgs: Sequence[str], target: Target, ctx: NetworkContext) -> bool:
    """Whether a rule naming application security groups applies to the queried endpoint."""
    if isinstance(target, EndpointNic):
        return bool(set(asgs) & set(target.asgs))
    if not is_cidr(target):
        return False  # a service tag is never a member of an ASG
    members = [_network(subnet) for asg, subnet in ctx.asg_subnets if asg in asgs]
    if any(_network(target).overlaps(m) for m in members):
        raise PartialMatchError(f"{target} holds members of {list(asgs)} and other addresses; ask about the endpoint")
    return False


def rule_matches(rule: NsgRule, source: Target, destination: Target, port: str | int, protocol: Protocol,
                 ctx: NetworkContext) -> bool:
    """Addresses first, so an irrelevant rule never raises about ports or protocol."""
    if not any(endpoint_matches(s, source, ctx) for s in rule.sources):
        return False
    if rule.destination_asgs:
        if not asg_matches(rule.destination_asgs, destination, ctx):
            return False
    elif not any(endpoint_matches(d, destination, ctx) for d in rule.destinations):
        return False
    return _protocol_matches(rule.protocol, protocol) and _ports_match(rule.destination_ports, parse_ports(port))


def ordered(rules: Iterable[NsgRule], direction: Direction) -> list[NsgRule]:
    """The rules Azure walks for one direction: the table's, then the defaults, by priority number."""
    return sorted((r for r in (*rules, *DEFAULT_RULES) if r.direction == direction), key=lambda r: r.priority)


def evaluate(rules: Iterable[NsgRule], direction: Direction, source: Target, destination: Target, port: str | int,
             protocol: Protocol = "Tcp", ctx: NetworkContext | None = None) -> Decision:
    """Azure's decision for one flow through one NSG: the first matching rule by priority wins."""
    context = ctx or NetworkContext(vnet=())
    for rule in ordered(rules, direction):
        if rule_matches(rule, source, destination, port, protocol, context):
            return Decision(rule.access, rule.name, rule.priority, rule.name in DEFAULT_RULE_NAMES)
    raise AssertionError("unreachable: DenyAll matches every flow")  # pragma: no cover


# --- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkInputs:
    """Everything the matrix needs, as plain values."""

    vnet: str
    host: str
    container: str
    endpoints: str
    required_nsg_rules: str
    allow_internet_outbound: bool
    peered: tuple[str, ...] = ()
    aks: str | None = None  # the AKS subnet, when the toolkit creates it
    # The private-endpoint classes in the endpoint subnet (components/planning/data_paths.py).
    endpoint_classes: tuple[str, ...] = ()
    # Who the AKS subnet's NSG admits to the ingress load balancer, where its frontend answers and on which ports.
    aks_client_sources: tuple[str, ...] = (VIRTUAL_NETWORK,)
    aks_frontend: str = ANY
    aks_ingress_ports: tuple[str, ...] = ("443",)

    @property
    def context(self) -> NetworkContext:
        return NetworkContext(vnet=(self.vnet,), peered=self.peered,
                              asg_subnets=tuple((cls, self.endpoints) for cls in self.endpoint_classes))

    def workspace_rules(self) -> list[NsgRule]:
        return workspace_subnet_rules(self.required_nsg_rules, self.allow_internet_outbound)

    def endpoint_rules(self) -> list[NsgRule]:
        return private_endpoint_subnet_rules((self.host, self.container), self.endpoint_classes, self.aks)

    def aks_rules(self) -> list[NsgRule]:
        """The AKS subnet's NSG (empty when the toolkit creates no AKS subnet)."""
        if self.aks is None:
            return []
        return aks_subnet_rules(self.aks, (self.host, self.container), self.endpoints, self.aks_client_sources,
                                self.aks_frontend, self.aks_ingress_ports)

    @property
    def endpoint_nics(self) -> tuple[EndpointNic, ...]:
        """Every private endpoint in the endpoint subnet, each in its class's application security group."""
        return tuple(EndpointNic(name, cls, self.endpoints, (cls,))
                     for cls in self.endpoint_classes for name in ENDPOINTS_OF_CLASS[cls])

    def endpoint_nic(self, name: str) -> EndpointNic:
        return next(n for n in self.endpoint_nics if n.name == name)

    def promised(self) -> frozenset[DataPath]:
        return promised_paths(self.endpoint_classes, (self.host, self.container), self.aks)


def network_inputs(*, vnet: str, subnets: SubnetPlan, creates_aks: bool, required_nsg_rules: str,
                   allow_internet_outbound: bool, endpoint_classes: tuple[str, ...], internal_load_balancer: bool,
                   load_balancer_source_ranges: tuple[str, ...], acme: bool) -> NetworkInputs:
    """The matrix inputs of an environment (no peered ranges: `dataclasses.replace` adds them)."""
    # The AKS subnet exists only when the toolkit creates the cluster; otherwise its room is just reserved.
    aks = str(subnets[AKS]) if creates_aks else None
    return NetworkInputs(
        vnet=vnet, host=str(subnets[HOST]), container=str(subnets[CONTAINER]), endpoints=str(subnets[ENDPOINTS]),
        required_nsg_rules=required_nsg_rules, allow_internet_outbound=allow_internet_outbound,
        aks=aks, endpoint_classes=endpoint_classes,
        # The Service's loadBalancerSourceRanges; without them, whoever reaches the frontend: the VNet and what is
        # routed into it for an internal load balancer, the Internet for a public one.
        aks_client_sources=load_balancer_source_ranges or ((VIRTUAL_NETWORK,) if internal_load_balancer else (INTERNET,)),
        # An internal frontend takes its address in the AKS subnet; a public one's address is AKS's to allocate.
        aks_frontend=aks if aks is not None and internal_load_balancer else ANY,
        # 443, and 80 only while ACME HTTP-01 challenges are answered (components/planning/ingress.py traefik_values).
        aks_ingress_ports=("443", "80") if acme else ("443",),
    )


@dataclass(frozen=True)
class Leg:
    nsg: str
    direction: Direction
    decision: Decision


@dataclass(frozen=True)
class Row:
    source: str
    destination: Target
    port: str
    protocol: Protocol
    legs: tuple[Leg, ...] = field(default_factory=tuple)

    @property
    def access(self) -> Access:
        return "Allow" if all(leg.decision.access == "Allow" for leg in self.legs) else "Deny"

    @property
    def decided_by(self) -> str:
        """The deciding rule of each leg; for a denied flow, the leg that denies."""
        legs = self.legs if self.access == "Allow" else [leg for leg in self.legs if leg.decision.access == "Deny"][:1]
        return "; ".join(f"{leg.nsg} {leg.direction.lower()}: {leg.decision.rule_name}" for leg in legs)


INBOUND_PORTS = ("22", "3389", "443", "5557", "3306", "6666", "8443-8451")
OUTBOUND_TAG_FLOWS: tuple[tuple[str, str], ...] = (
    (INTERNET, "443"), ("Storage", "443"), ("Sql", "3306"), ("EventHub", "9093"),
    ("AzureActiveDirectory", "443"), ("AzureFrontDoor.Frontend", "443"), (AZURE_DATABRICKS, "443"),
)
# Ports every source is asked about on every private endpoint, besides the ones any client is promised there.
ENDPOINT_PROBE_PORTS = ("22", "443", "1433", "3306", "6666", "8443-8451")

WORKSPACE_NSG, ENDPOINT_NSG, AKS_NSG = "workspace", "private-endpoint", "aks"


def _labels(inputs: NetworkInputs) -> dict[Target, str]:
    labels: dict[Target, str] = {inputs.host: "host", inputs.container: "container", inputs.endpoints: "private-endpoint"}
    if inputs.aks:
        labels[inputs.aks] = "aks"
    labels.update({p: f"peered {p}" for p in inputs.peered})
    return labels


def label(endpoint: Target, inputs: NetworkInputs) -> str:
    if isinstance(endpoint, EndpointNic):
        return f"{endpoint.name} endpoint (ASG {', '.join(endpoint.asgs)}, in {endpoint.subnet})"
    name = _labels(inputs).get(endpoint)
    return f"{name} ({endpoint})" if name and not name.startswith("peered") else (name or endpoint)


def flow(inputs: NetworkInputs, source: str, destination: Target, port: str, protocol: Protocol = "Tcp") -> Row:
    """One flow through every NSG of ours it crosses: the source subnet's outbound, the destination's inbound."""
    ctx = inputs.context
    nsgs = {inputs.host: (WORKSPACE_NSG, inputs.workspace_rules()), inputs.container: (WORKSPACE_NSG, inputs.workspace_rules()),
            inputs.endpoints: (ENDPOINT_NSG, inputs.endpoint_rules())}
    if inputs.aks is not None:
        nsgs[inputs.aks] = (AKS_NSG, inputs.aks_rules())
    legs: list[Leg] = []
    if source in nsgs:
        name, rules = nsgs[source]
        legs.append(Leg(name, "Outbound", evaluate(rules, "Outbound", source, destination, port, protocol, ctx)))
    subnet = destination.subnet if isinstance(destination, EndpointNic) else destination
    if subnet in nsgs:
        name, rules = nsgs[subnet]
        legs.append(Leg(name, "Inbound", evaluate(rules, "Inbound", source, destination, port, protocol, ctx)))
    if not legs:
        raise ValueError(f"neither {source} nor {destination} is a subnet with one of our NSGs")
    return Row(source, destination, port, protocol, tuple(legs))


def data_path_sources(inputs: NetworkInputs) -> tuple[str, ...]:
    """Everything that could open a connection to a private endpoint: the Internet, the control plane's public
    addresses, the cluster subnets, the ingress tier's subnet and every peered range."""
    return tuple(dict.fromkeys((INTERNET, AZURE_DATABRICKS, inputs.host, inputs.container,
                                *([inputs.aks] if inputs.aks else []), *inputs.peered)))


def data_path_ports(inputs: NetworkInputs, nic: EndpointNic) -> tuple[str, ...]:
    promised = [p for ports in (CLUSTER_PORTS.get(nic.endpoint_class, ()), CONNECTOR_PORTS.get(nic.endpoint_class, ()))
                for p in ports]
    return tuple(dict.fromkeys((*ENDPOINT_PROBE_PORTS, *promised)))


def data_path_matrix(inputs: NetworkInputs) -> list[Row]:
    """Every source to every private endpoint, on the probe ports and every port any client is promised there."""
    return [flow(inputs, source, nic, port)
            for nic in inputs.endpoint_nics for source in data_path_sources(inputs) for port in data_path_ports(inputs, nic)]


def data_path_problems(inputs: NetworkInputs) -> list[str]:
    """Where the evaluated matrix and the promise part: a promised path closed, partly closed or never asked
    about, or a path open that nothing promises. Empty when every promised path is open and every other closed."""
    promised = inputs.promised()

    def is_promised(path: DataPath) -> bool:  # a port inside a promised range is promised
        lo, hi = parse_ports(path.port)
        return any(p.source == path.source and p.endpoint_class == path.endpoint_class
                   and parse_ports(p.port)[0] <= lo and hi <= parse_ports(p.port)[1] for p in promised)

    asked: set[DataPath] = set()
    problems = []
    for nic in inputs.endpoint_nics:
        for source in data_path_sources(inputs):
            for port in data_path_ports(inputs, nic):
                path = DataPath(source, nic.endpoint_class, port)
                asked.add(path)
                try:
                    row = flow(inputs, source, nic, port)
                except PartialMatchError as e:
                    problems.append(f"{'promised' if is_promised(path) else 'unpromised'} path partly open: "
                                    f"{source} to {nic} port {port} ({e})")
                    continue
                if is_promised(path) and row.access != "Allow":
                    problems.append(f"promised path closed: {source} to {nic} port {port} ({row.decided_by})")
                elif not is_promised(path) and row.access == "Allow":
                    problems.append(f"unpromised path open: {source} to {nic} port {port} ({row.decided_by})")
    problems += [f"promised path not in the matrix: {p.source} to {p.endpoint_class} port {p.port}" for p in sorted(promised - asked)]
    return problems


def subnet_matrix(inputs: NetworkInputs) -> list[Row]:
    """Inbound to the host and container subnets from every source; outbound from host and container; and every
    source to every private endpoint (`data_path_matrix`). The AKS subnet (pods and nodes under Azure CNI) is asked
    about the cluster nodes on the probe ports and on every port and protocol at once: it must never get through."""
    workers = (inputs.host, inputs.container)
    sources = (INTERNET, AZURE_DATABRICKS, *workers, *([inputs.aks] if inputs.aks else []), *inputs.peered)
    rows: list[Row] = []
    for destination in workers:
        for source in sources:
            if source == destination:
                continue
            rows += [flow(inputs, source, destination, port) for port in INBOUND_PORTS]
            if source == inputs.aks:
                rows.append(flow(inputs, source, destination, ANY, "*"))
    for source in workers:
        rows += [flow(inputs, source, tag, port) for tag, port in OUTBOUND_TAG_FLOWS]
    return rows + data_path_matrix(inputs)


def matrix_markdown(rows: Sequence[Row], inputs: NetworkInputs | None = None) -> str:
    """A Markdown table, one line per flow, for the report."""
    def name(endpoint: Target) -> str:
        return label(endpoint, inputs) if inputs else str(endpoint)

    lines = ["| source | destination | port | protocol | access | decided by |", "|---|---|---|---|---|---|"]
    lines += [f"| {name(r.source)} | {name(r.destination)} | {r.port} | {r.protocol} | {r.access} | {r.decided_by} |" for r in rows]
    return "\n".join(lines) + "\n"
