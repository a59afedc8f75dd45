"""Who reaches the workspace's UI and REST API (https 443): public network access, IP access lists and the
private endpoints that serve the front end. Pure, no Pulumi.

Databricks' documented semantics, as modelled here:

* IP access lists (https://learn.microsoft.com/azure/databricks/security/network/front-end/ip-access-list-workspace):
  with the feature off, the lists are stored but not enforced. On, with no ALLOW list, every address is allowed;
  once an ALLOW list exists, an address on none is denied. A BLOCK list means "exclude even if in an allow list":
  a BLOCK match denies whatever ALLOW lists say.
* The lists see public source addresses only (https://learn.microsoft.com/azure/databricks/security/network/front-end/ip-access-list):
  "If you use Private Link, IP access lists apply only to requests over the internet (public IP addresses). Private
  IP addresses from Private Link traffic cannot be blocked by IP access lists." So a request over a private
  endpoint is decided by the network path alone, whatever the lists hold.
* Public network access Disabled: only private endpoints answer; a source with no private path has none at all.

Private paths. A source reaches the workspace privately when it resolves the workspace's host name to a private
endpoint's address and its packets get there:

* the workspace VNet resolves through the back-end zone (linked to it) to the back-end endpoint in the
  private-endpoint subnet, whose NSG then decides (only the host and container subnets are allowed in);
* the transit VNet, and the networks routed to it and resolving its zone (the VNets in `dns_link_vnet_ids`, and
  on-premises / peered ranges through VPN or ExpressRoute and a DNS forwarder; assumed for every range given as
  corporate), reach the front-end endpoint in the transit VNet, whose subnet carries no NSG.

Any other source goes over the Internet from its public address: public network access and the IP access lists
decide. A private range with no private path has no public address the spec knows (its NAT or proxy egress), so
its answer depends on that address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Literal

from components.planning.reachability import INTERNET, NON_PUBLIC

Outcome = Literal["Allow", "Deny", "Partial", "Depends"]


@dataclass(frozen=True)
class Step:
    """One layer's say on a flow. `access` None: the layer lets it through without deciding anything."""

    layer: str
    access: Outcome | None
    reason: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.reason}"


@dataclass(frozen=True)
class IpAccess:
    """The workspace's IP access lists as plain values."""

    enabled: bool
    allow: tuple[tuple[str, tuple[str, ...]], ...]
    block: tuple[tuple[str, tuple[str, ...]], ...]


def _net(value: str) -> IPv4Network:
    return ipaddress.IPv4Network(value, strict=False)


def is_public(source: str) -> bool:
    """The query tag Internet, or a CIDR wholly outside the non-public ranges."""
    if source == INTERNET:
        return True
    net = _net(source)
    return not any(net.overlaps(n) for n in NON_PUBLIC)


def _matches(source: str, cidrs: Sequence[str]) -> bool | None:
    """Whether the listed ranges cover the source: True, False, or None when they cover part of it."""
    if source == INTERNET:
        return False  # stands for a public address no list names
    net = _net(source)
    if any(net.subnet_of(_net(c)) for c in cidrs):
        return True
    return None if any(net.overlaps(_net(c)) for c in cidrs) else False


def ip_access_list_step(source: str, lists: IpAccess) -> Step:
    """The IP access lists' decision for a public source (`Internet` = an address no list names)."""
    layer = "IP access lists"
    if not lists.enabled:
        return Step(layer, None, "disabled, not enforced")
    for label, cidrs in lists.block:
        hit = _matches(source, cidrs)
        if hit:
            return Step(layer, "Deny", f"BLOCK list {label} (a BLOCK match wins over every ALLOW list)")
        if hit is None:
            return Step(layer, "Partial", f"part of {source} is on BLOCK list {label}")
    if not lists.allow:
        return Step(layer, None, "no ALLOW list, so every address not blocked is allowed")
    partial = None
    for label, cidrs in lists.allow:
        hit = _matches(source, cidrs)
        if hit:
            return Step(layer, "Allow", f"ALLOW list {label}")
        partial = partial or (label if hit is None else None)
    if partial:
        return Step(layer, "Partial", f"only part of {source} is on ALLOW list {partial}")
    return Step(layer, "Deny", "on no ALLOW list")


@dataclass(frozen=True)
class FrontEnd:
    """What decides front-end reachability, as plain values."""

    public_network_access: Literal["Enabled", "Disabled"]
    ip_access: IpAccess
    vnet: str
    backend_endpoint: bool
    frontend_endpoint: bool
    transit: str | None  # the transit VNet's range, when the toolkit creates it
    corporate: tuple[str, ...] = ()  # ranges routed to the transit VNet and resolving its zone (assumed)


def _inside(source: str, ranges: Sequence[str | None]) -> bool:
    if source == INTERNET:
        return False
    net = _net(source)
    return any(r is not None and net.subnet_of(_net(r)) for r in ranges)


def private_path(source: str, fe: FrontEnd) -> Literal["backend", "frontend"] | None:
    """Which private endpoint serves the source's requests, if any (see the module docstring)."""
    if fe.backend_endpoint and _inside(source, [fe.vnet]):
        return "backend"
    if fe.frontend_endpoint and _inside(source, [fe.transit, *fe.corporate]):
        return "frontend"
    return None


def public_steps(source: str, fe: FrontEnd) -> list[Step]:
    """The public path: public network access, then the IP access lists."""
    if fe.public_network_access == "Disabled":
        return [Step("public network access", "Deny", "Disabled, and this source has no private path")]
    steps = [Step("public network access", None, "Enabled")]
    try:
        public = is_public(source)
    except ValueError:
        public = False
    if not public:
        return [*steps, Step("public path", "Depends",
                             f"{source} is private with no private path: its public egress address (not in the spec) meets the IP access lists")]
    return [*steps, ip_access_list_step(source, fe.ip_access)]


def outcome(steps: Sequence[Step]) -> Outcome:
    """The first deciding layer that denies (or is partial / conditional) decides; otherwise Allow."""
    for step in steps:
        if step.access in ("Deny", "Partial", "Depends"):
            return step.access
    return "Allow"


def decided_by(steps: Sequence[Step]) -> str:
    """For a flow that gets through, every layer; otherwise the layer that stops (or qualifies) it."""
    stop = next((s for s in steps if s.access in ("Deny", "Partial", "Depends")), None)
    return str(stop) if stop else "; ".join(str(s) for s in steps)

