"""Environment stamping, the pure part: address blocks and names for a test environment (pr-123). No Pulumi.

`allocate_blocks` places the address blocks a stamped environment needs in the base's pool, clear of every block
already taken. Reading a base spec and validating the stamped one is the spec's (`components/spec/stamp.py`): the
planners never import the spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

from components.planning.naming import short_hash

SUFFIX_LENGTH = 5

WORKSPACE_RANGE = "network.address_space"
TRANSIT_RANGE = "private_link.transit.address_space"


class PoolExhaustedError(ValueError):
    """No free block of the needed size is left in the pool."""


@dataclass(frozen=True)
class BlockRequest:
    field: str  # the spec field the block becomes (WORKSPACE_RANGE or TRANSIT_RANGE)
    prefix_length: int


def unique_suffix(name: str) -> str:
    """The naming.unique_suffix of a stamped environment: a short stable hash of its name, so its globally
    unique names (storage, Key Vault, SQL, Event Hubs) differ from the base's and from every other stamp."""
    return short_hash("brickwall-stamp", name, length=SUFFIX_LENGTH)


def _free_blocks(pool: IPv4Network, taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    free = [pool]
    for net in taken:
        nxt: list[IPv4Network] = []
        for block in free:
            if net.subnet_of(block):
                nxt.extend(block.address_exclude(net))
            elif not block.subnet_of(net):  # two CIDRs overlap only when one holds the other
                nxt.append(block)
        free = nxt
    return sorted(free, key=lambda n: int(n.network_address))


def allocate_blocks(pool: IPv4Network, prefix_lengths: Sequence[int], taken: Iterable[IPv4Network]) -> list[IPv4Network]:
    """The first free aligned block of each size in `pool` (largest first, lowest address), overlapping
    nothing in `taken` nor each other; in request order. PoolExhaustedError when one does not fit."""
    used = list(taken)
    placed: dict[int, IPv4Network] = {}
    for i in sorted(range(len(prefix_lengths)), key=lambda k: prefix_lengths[k]):
        prefix = prefix_lengths[i]
        if prefix < pool.prefixlen:
            raise PoolExhaustedError(f"a /{prefix} does not fit in the pool {pool}")
        block = next((next(b.subnets(new_prefix=prefix)) for b in _free_blocks(pool, used) if b.prefixlen <= prefix), None)
        if block is None:
            raise PoolExhaustedError(f"the pool {pool} is exhausted: no free /{prefix} left clear of {len(used)} allocated or "
                                     "reserved range(s); destroy expired environments or widen stamping.pool")
        placed[i] = block
        used.append(block)
    return [placed[i] for i in range(len(prefix_lengths))]
