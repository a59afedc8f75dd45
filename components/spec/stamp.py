"""Environment stamping: derive a test environment (pr-123) from a base spec. Pure functions, no Pulumi.

`allocate_for` places the address blocks a stamped environment needs in the base's pool, clear of every block already
taken (`components/planning/stamping.py` allocate_blocks); `stamp` turns a base spec, a name and those blocks into a
validated EnvironmentSpec with its own names, tags and relaxed protection. The ledger (`brickwall/ledger.py`) calls
both under its file lock, so two environments stamped at once never get the same block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from ipaddress import IPv4Network
from typing import Any

from pydantic import ValidationError

from components.planning.addresses import parse_network
from components.planning.stamping import (
    SUFFIX_LENGTH,
    TRANSIT_RANGE,
    WORKSPACE_RANGE,
    BlockRequest,
    PoolExhaustedError,
    allocate_blocks,
    unique_suffix,
)
from components.spec.errors import Problem, SpecError, problems_from
from components.spec.models import EnvironmentSpec

__all__ = ["SUFFIX_LENGTH", "TRANSIT_RANGE", "WORKSPACE_RANGE", "BlockRequest", "PoolExhaustedError", "allocate_blocks",
           "allocate_for", "base_ranges", "block_requests", "env_name_problems", "stamp", "unique_suffix"]

# Same rule as EnvironmentSpec.name: the environment name goes into every resource name.
_ENV_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def _shift(cidr: str, old: IPv4Network, new: IPv4Network) -> str:
    net = parse_network(cidr)
    offset = int(net.network_address) - int(old.network_address)
    return str(IPv4Network((int(new.network_address) + offset, net.prefixlen)))


def _stamp_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def env_name_problems(name: str) -> list[Problem]:
    if not _ENV_NAME.fullmatch(name) or not 2 <= len(name) <= 12:
        return [Problem(("name",), f"{name!r}: 2-12 lowercase letters, digits and single hyphens, starting with a letter "
                                   "(it goes into every resource name)")]
    return []


def block_requests(base: EnvironmentSpec) -> list[BlockRequest]:
    """The blocks a stamp of `base` needs: a workspace VNet of the base's size, and a transit VNet of the
    base's size when the base creates one (an existing transit VNet is shared, not stamped)."""
    reqs = [BlockRequest(WORKSPACE_RANGE, parse_network(base.network.address_space).prefixlen)]
    transit = base.private_link.transit
    if transit is not None and transit.address_space is not None:
        reqs.append(BlockRequest(TRANSIT_RANGE, parse_network(transit.address_space).prefixlen))
    return reqs


def base_ranges(spec: EnvironmentSpec) -> list[IPv4Network]:
    """The address ranges a spec's own VNets use."""
    out = [parse_network(spec.network.address_space)]
    transit = spec.private_link.transit
    if transit is not None and transit.address_space is not None:
        out.append(parse_network(transit.address_space))
    return out


def allocate_for(base: EnvironmentSpec, taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    """The blocks for one stamp of `base`, clear of `taken` (the ledger), `stamping.reserved` and the base's own ranges."""
    if base.stamping.pool is None:
        raise SpecError(f"base {base.name}", [Problem(("stamping", "pool"), f"no pool: environments cannot be stamped from "
                                                                            f"{base.name}; give stamping.pool (an IPv4 CIDR)")])
    avoid = [*taken, *(parse_network(c) for c in base.stamping.reserved), *base_ranges(base)]
    return allocate_blocks(parse_network(base.stamping.pool), [r.prefix_length for r in block_requests(base)], avoid)


def stamp(base: EnvironmentSpec, name: str, blocks: Sequence[IPv4Network | str], *, owner: str,
          pull_request: str | None, created_at: datetime, expires_at: datetime) -> EnvironmentSpec:
    """The spec of environment `name` stamped from `base` on `blocks` (as `allocate_for` returned them).

    Everything else is the base's: tier, region, private link, access, monitoring. Protection is relaxed
    (`stamping.ephemeral`, honoured by the staging floors for data protection only; prod is never ephemeral)."""
    source = f"environment {name!r} stamped from {base.name}"
    if problems := env_name_problems(name):
        raise SpecError(source, problems)
    reqs = block_requests(base)
    if len(blocks) != len(reqs):
        raise ValueError(f"{len(reqs)} block(s) needed ({', '.join(r.field for r in reqs)}), {len(blocks)} given")
    nets = [parse_network(b) if isinstance(b, str) else b for b in blocks]
    for req, net in zip(reqs, nets, strict=True):
        if net.prefixlen != req.prefix_length:
            raise ValueError(f"{req.field}: {net} is not a /{req.prefix_length} like the base's")

    data: dict[str, Any] = base.model_dump(mode="json")
    old_vnet = parse_network(base.network.address_space)
    data["network"]["address_space"] = str(nets[0])
    subnets = data["network"]["subnets"]
    for key in ("host_cidr", "container_cidr", "private_endpoint_cidr"):
        if subnets.get(key):
            subnets[key] = _shift(subnets[key], old_vnet, nets[0])
    if len(reqs) > 1:
        data["private_link"]["transit"]["address_space"] = str(nets[1])
    data["name"] = name
    data["naming"]["unique_suffix"] = unique_suffix(name)
    tags = {**data.get("tags", {}), "owner": owner, "created-at": _stamp_time(created_at), "expires-at": _stamp_time(expires_at),
            "stamped-from": base.name}
    if pull_request:
        tags["pull-request"] = pull_request
    data["tags"] = tags
    data["protection"] = {"protect_data": False, "locks": False}
    data["stamping"] = {"pool": None, "reserved": [], "ttl_hours": base.stamping.ttl_hours, "ephemeral": True}
    try:
        return EnvironmentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, problems_from(exc)) from None
