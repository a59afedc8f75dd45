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

Subnet-to-subnet flows cross two NSGs: the source subnet's outbound rules, then the
destination subnet's inbound rules. Both must allow.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from components.planning.nsg_rules import (
    Access,
    Direction,
    NsgRule,
    Protocol,
    private_endpoint_subnet_rules,
    workspace_subnet_rules,
)

if TYPE_CHECKING:
    from components.spec import EnvironmentSpec

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
NON_PUBLIC = tuple(ipaddress.IPv4Network(c) for c in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4",
))


class PartialMatchError(ValueError):
    """A rule covers only part of a queried range: the decision differs inside the range."""


@dataclass(frozen=True)
class NetworkContext:
    """What `VirtualNetwork` means for this NSG: the VNet's own space plus the peered ranges."""

    vnet: tuple[str, ...]
    peered: tuple[str, ...] = ()

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


def endpoint_matches(rule_endpoint: str, query: str, ctx: NetworkContext) -> bool:
    """Whether a rule's source/destination entry covers the queried endpoint (see the module docstring)."""
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


def rule_matches(rule: NsgRule, source: str, destination: str, port: str | int, protocol: Protocol, ctx: NetworkContext) -> bool:
    """Addresses first, so an irrelevant rule never raises about ports or protocol."""
    if not any(endpoint_matches(s, source, ctx) for s in rule.sources):
        return False
    if not any(endpoint_matches(d, destination, ctx) for d in rule.destinations):
        return False
    return _protocol_matches(rule.protocol, protocol) and _ports_match(rule.destination_ports, parse_ports(port))


def ordered(rules: Iterable[NsgRule], direction: Direction) -> list[NsgRule]:
    """The rules Azure walks for one direction: the table's, then the defaults, by priority number."""
    return sorted((r for r in (*rules, *DEFAULT_RULES) if r.direction == direction), key=lambda r: r.priority)


def evaluate(rules: Iterable[NsgRule], direction: Direction, source: str, destination: str, port: str | int,
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

    @property
    def context(self) -> NetworkContext:
        return NetworkContext(vnet=(self.vnet,), peered=self.peered)

    def workspace_rules(self) -> list[NsgRule]:
        return workspace_subnet_rules(self.required_nsg_rules, self.allow_internet_outbound)

    def endpoint_rules(self) -> list[NsgRule]:
        return private_endpoint_subnet_rules((self.host, self.container), self.endpoints, self.aks)


def inputs_from_spec(spec: EnvironmentSpec, peered: Sequence[str] = ()) -> NetworkInputs:
    """The matrix inputs of an environment; `peered` are hub / on-premises ranges routed into the VNet."""
    from components.spec.models import AKS, CONTAINER, ENDPOINTS, HOST

    net = spec.network
    plan = net.plan
    return NetworkInputs(
        vnet=net.address_space, host=str(plan[HOST]), container=str(plan[CONTAINER]), endpoints=str(plan[ENDPOINTS]),
        required_nsg_rules=spec.workspace.required_nsg_rules, allow_internet_outbound=net.egress.allow_internet_outbound,
        # The AKS subnet exists only when the toolkit creates the cluster; otherwise its room is just reserved.
        peered=tuple(peered), aks=str(plan[AKS]) if spec.ingress.enabled and spec.ingress.cluster == "aks" else None,
    )


@dataclass(frozen=True)
class Leg:
    nsg: str
    direction: Direction
    decision: Decision


@dataclass(frozen=True)
class Row:
    source: str
    destination: str
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
ENDPOINT_PORTS = ("443", "6666")

WORKSPACE_NSG, ENDPOINT_NSG = "workspace", "private-endpoint"


def _labels(inputs: NetworkInputs) -> dict[str, str]:
    labels = {inputs.host: "host", inputs.container: "container", inputs.endpoints: "private-endpoint"}
    labels.update({p: f"peered {p}" for p in inputs.peered})
    return labels


def label(endpoint: str, inputs: NetworkInputs) -> str:
    name = _labels(inputs).get(endpoint)
    return f"{name} ({endpoint})" if name and not name.startswith("peered") else (name or endpoint)


def flow(inputs: NetworkInputs, source: str, destination: str, port: str, protocol: Protocol = "Tcp") -> Row:
    """One flow through every NSG of ours it crosses: the source subnet's outbound, the destination's inbound."""
    ctx = inputs.context
    nsgs = {inputs.host: (WORKSPACE_NSG, inputs.workspace_rules()), inputs.container: (WORKSPACE_NSG, inputs.workspace_rules()),
            inputs.endpoints: (ENDPOINT_NSG, inputs.endpoint_rules())}
    legs: list[Leg] = []
    if source in nsgs:
        name, rules = nsgs[source]
        legs.append(Leg(name, "Outbound", evaluate(rules, "Outbound", source, destination, port, protocol, ctx)))
    if destination in nsgs:
        name, rules = nsgs[destination]
        legs.append(Leg(name, "Inbound", evaluate(rules, "Inbound", source, destination, port, protocol, ctx)))
    if not legs:
        raise ValueError(f"neither {source} nor {destination} is a subnet with one of our NSGs")
    return Row(source, destination, port, protocol, tuple(legs))


def subnet_matrix(inputs: NetworkInputs) -> list[Row]:
    """Inbound to the host, container and endpoint subnets from every source; outbound from host and container."""
    workers = (inputs.host, inputs.container)
    sources = (INTERNET, AZURE_DATABRICKS, *workers, *inputs.peered)
    rows: list[Row] = []
    for destination in (*workers, inputs.endpoints):
        for source in sources:
            if source == destination:
                continue
            rows += [flow(inputs, source, destination, port) for port in INBOUND_PORTS]
    for source in workers:
        rows += [flow(inputs, source, tag, port) for tag, port in OUTBOUND_TAG_FLOWS]
    return rows


def matrix_markdown(rows: Sequence[Row], inputs: NetworkInputs | None = None) -> str:
    """A Markdown table, one line per flow, for the report."""
    def name(endpoint: str) -> str:
        return label(endpoint, inputs) if inputs else endpoint

    lines = ["| source | destination | port | protocol | access | decided by |", "|---|---|---|---|---|---|"]
    lines += [f"| {name(r.source)} | {name(r.destination)} | {r.port} | {r.protocol} | {r.access} | {r.decided_by} |" for r in rows]
    return "\n".join(lines) + "\n"
