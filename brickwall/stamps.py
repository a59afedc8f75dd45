
"""The proof behind `python -m brickwall env plan`: stamped environments, rendered offline, collide with nothing.

Each stamp's rendered VNets must be exactly its ledger allocation, and its planned storage account must be in the
render; every stamped range must be disjoint from every other stamp's and from the fixed ones (the known
environments' own VNets, the base's reserved ranges, the live ledger's allocations); every globally unique name of a
stamp must be unique among the stamps and distinct from the known environments'. The command
(`brickwall/cli/env.py`) allocates, renders and prints; this module only judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

from brickwall.engine import Recording
from brickwall.ledger import Entry
from components.planning import azure_types as az
from components.spec import EnvironmentSpec
from components.spec import stamp as stamping

VNET_TYPE = az.VIRTUAL_NETWORK.token


@dataclass
class Stamp:
    name: str
    cidrs: tuple[str, ...]
    rendered_cidrs: list[str] = field(default_factory=list)
    global_names: dict[str, str] = field(default_factory=dict)
    resources: int = 0
    expires_at: str = ""


def rendered(recording: Recording) -> tuple[list[str], set[str]]:
    """The VNet ranges the program registered, and every string input (to find the physical names in)."""
    cidrs: list[str] = []
    strings: set[str] = set()
    for reg in recording.registrations:
        if reg.type == VNET_TYPE:
            cidrs += list((reg.inputs.get("addressSpace") or {}).get("addressPrefixes") or [])
        _strings(reg.inputs, strings)
    return cidrs, strings


def _strings(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _strings(v, out)


def stamp_of(entry: Entry, spec: EnvironmentSpec, recording: Recording) -> tuple[Stamp, list[str]]:
    """One rendered stamp, and what is wrong with it: VNets that are not its allocation, a planned storage account
    the render does not hold."""
    rendered_cidrs, strings = rendered(recording)
    stamp = Stamp(entry.name, entry.cidrs, rendered_cidrs, spec.names.global_names(), len(recording.registrations),
                  entry.expires_at)
    problems = []
    if sorted(rendered_cidrs) != sorted(entry.cidrs):
        problems.append(f"{entry.name}: rendered VNets {rendered_cidrs} are not its allocation {list(entry.cidrs)}")
    missing = [v for k, v in stamp.global_names.items() if k == "workspace_storage_account" and v not in strings]
    problems += [f"{entry.name}: the planned storage account {v} is not in the render" for v in missing]
    return stamp, problems


def overlaps(stamped: Sequence[tuple[str, IPv4Network]], fixed: Sequence[tuple[str, IPv4Network]]) -> list[str]:
    """Every stamped range that overlaps another stamped range or a fixed one (the fixed ones may overlap
    each other: a reserved range names a known environment's VNet on purpose)."""
    out = []
    for i, (a_owner, a) in enumerate(stamped):
        for b_owner, b in [*stamped[i + 1:], *fixed]:
            if a.overlaps(b):
                out.append(f"{a} ({a_owner}) overlaps {b} ({b_owner})")
    return out


def ranges(stamps: Iterable[Stamp], base: EnvironmentSpec, others: Mapping[str, EnvironmentSpec],
           existing: Iterable[Entry]) -> tuple[list[tuple[str, IPv4Network]], list[tuple[str, IPv4Network]]]:
    """Every range: each stamp's rendered VNets; fixed: every known environment's own VNets, the base's reserved
    ranges and the live ledger's allocations."""
    stamped = [(s.name, IPv4Network(c)) for s in stamps for c in s.rendered_cidrs]
    fixed = [(env, net) for env, spec in others.items() for net in stamping.base_ranges(spec)]
    fixed += [(f"{base.name} reserved", IPv4Network(c)) for c in base.stamping.reserved]
    fixed += [(f"ledger {e.name}", net) for e in existing for net in e.networks()]
    return stamped, fixed


def name_collisions(stamps: Iterable[Stamp], others: Mapping[str, EnvironmentSpec]) -> list[str]:
    """Global names a stamp shares with another stamp or with a known environment."""
    problems = []
    seen: dict[str, str] = {}
    for owner_name, global_names in [*((s.name, s.global_names) for s in stamps),
                                     *((env, spec.names.global_names()) for env, spec in others.items())]:
        for value in global_names.values():
            if value in seen and seen[value] != owner_name:
                problems.append(f"global name {value} of {owner_name} is also {seen[value]}'s")
            seen.setdefault(value, owner_name)
    return problems
