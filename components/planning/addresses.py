"""Address planning: carve subnets out of a VNet range. Pure functions, no Pulumi.

Fixed CIDRs are honoured first; the rest are placed largest-first at the lowest aligned
free address, so the same requests always give the same layout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network

# Azure keeps the network address, the broadcast address and three more in every subnet.
AZURE_RESERVED_ADDRESSES = 5


class AddressPlanError(ValueError):
    """Every problem found while planning, as (subnet name, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.problems))


@dataclass(frozen=True)
class SubnetRequest:
    """A subnet to place: either an exact `cidr` or just a `prefix_length` to carve."""

    name: str
    prefix_length: int | None = None
    cidr: str | None = None

    def __post_init__(self) -> None:
        if (self.prefix_length is None) == (self.cidr is None):
            raise ValueError(f"subnet {self.name!r}: give exactly one of prefix_length or cidr")


@dataclass(frozen=True)
class SubnetPlan:
    vnet: IPv4Network
    subnets: dict[str, IPv4Network] = field(default_factory=dict)

    def __getitem__(self, name: str) -> IPv4Network:
        return self.subnets[name]

    def free(self) -> list[IPv4Network]:
        """The parts of the VNet no subnet uses: room for later subnets (AKS, bastion)."""
        return _free_blocks(self.vnet, list(self.subnets.values()))


def parse_network(cidr: str) -> IPv4Network:
    """Parse an IPv4 CIDR strictly: host bits set (10.0.0.1/24) or a bare address is an error, not a silent fix."""
    if "/" not in cidr:
        raise ValueError("missing the /prefix length")
    return ipaddress.IPv4Network(cidr, strict=True)


def usable_addresses(net: IPv4Network) -> int:
    return max(0, net.num_addresses - AZURE_RESERVED_ADDRESSES)


def max_cluster_nodes(host: IPv4Network, container: IPv4Network) -> int:
    """Each Databricks node takes one address in the host and one in the container subnet."""
    return min(usable_addresses(host), usable_addresses(container))


def overlaps(a: IPv4Network, b: IPv4Network) -> bool:
    return a.overlaps(b)


def carve_subnets(vnet_cidr: str, requests: Sequence[SubnetRequest]) -> SubnetPlan:
    """Place every request inside `vnet_cidr`; raise AddressPlanError listing every problem."""
    try:
        vnet = parse_network(vnet_cidr)
    except ValueError as exc:
        raise AddressPlanError([("vnet", f"{vnet_cidr!r} is not a valid IPv4 CIDR ({exc})")]) from None

    problems: list[tuple[str, str]] = []
    names = [r.name for r in requests]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append((dup, "requested more than once"))

    placed: dict[str, IPv4Network] = {}
    for req in requests:
        if req.cidr is None:
            continue
        try:
            net = parse_network(req.cidr)
        except ValueError as exc:
            problems.append((req.name, f"{req.cidr!r} is not a valid IPv4 CIDR ({exc})"))
            continue
        if not net.subnet_of(vnet):
            problems.append((req.name, f"{net} is not inside the VNet range {vnet}"))
            continue
        for other, other_net in placed.items():
            if net.overlaps(other_net):
                problems.append((req.name, f"{net} overlaps subnet {other!r} ({other_net})"))
        placed[req.name] = net

    to_carve = [r for r in requests if r.cidr is None]
    for req in to_carve:
        assert req.prefix_length is not None
        if not vnet.prefixlen <= req.prefix_length <= 29:
            problems.append(
                (req.name, f"prefix /{req.prefix_length} cannot fit a subnet in {vnet} (allowed /{vnet.prefixlen} to /29)")
            )
    if problems:
        raise AddressPlanError(problems)

    # Largest first keeps alignment waste low; the stable sort keeps request order among equals.
    for req in sorted(to_carve, key=lambda r: r.prefix_length or 0):
        assert req.prefix_length is not None
        net_or_none = _first_free(vnet, req.prefix_length, list(placed.values()))
        if net_or_none is None:
            problems.append((req.name, f"no free /{req.prefix_length} left in {vnet} after placing {_describe(placed)}"))
            continue
        placed[req.name] = net_or_none
    if problems:
        raise AddressPlanError(problems)
    return SubnetPlan(vnet=vnet, subnets={r.name: placed[r.name] for r in requests})


def _first_free(vnet: IPv4Network, prefix: int, used: list[IPv4Network]) -> IPv4Network | None:
    for block in _free_blocks(vnet, used):
        if block.prefixlen <= prefix:
            return next(block.subnets(new_prefix=prefix))
    return None


def _free_blocks(vnet: IPv4Network, used: list[IPv4Network]) -> list[IPv4Network]:
    free = [vnet]
    for net in used:
        nxt: list[IPv4Network] = []
        for block in free:
            if net.subnet_of(block):
                nxt.extend(block.address_exclude(net))
            elif block.subnet_of(net):
                continue
            else:
                nxt.append(block)
        free = nxt
    return sorted(free, key=lambda n: int(n.network_address))


def _describe(placed: dict[str, IPv4Network]) -> str:
    return ", ".join(f"{k}={v}" for k, v in placed.items()) or "nothing"
