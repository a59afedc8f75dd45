"""Environment stamping: the address pool test environments (pr-123, ...) are allocated from, and the
`ephemeral` mark a stamped environment carries so the tier floors let it be destroyed.

Only a base spec with a `pool` may be stamped from. A stamped spec has `ephemeral: true` and no pool
of its own (`components/spec/stamp.py` derives it).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from components.planning.addresses import parse_network
from components.spec.base import StrictModel, cidr_problem
from components.spec.errors import Problem, raise_problems

# Workspace VNets are /16 to /24: a pool smaller than a /24 cannot hold one.
MAX_POOL_PREFIX = 24



class StampingSpec(StrictModel):
    # The range every stamped environment's VNets come from; None: no environment may be stamped from this spec.
    pool: str | None = None
    # Ranges no stamped environment may overlap: the hub, peered VNets, on-premises networks.
    reserved: tuple[str, ...] = ()
    # How long a stamped environment lives before `env list` flags it expired.
    ttl_hours: int = Field(default=72, ge=1, le=720)
    # Set on a stamped (derived) spec only: data protection and locks relaxed so it can be destroyed.
    ephemeral: bool = False

    @field_validator("pool")
    @classmethod
    def _pool(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if bad := cidr_problem(v):
            raise ValueError(bad)
        if (prefix := parse_network(v).prefixlen) > MAX_POOL_PREFIX:
            raise ValueError(f"/{prefix} is too small: a stamped workspace VNet needs at least a /{MAX_POOL_PREFIX}")
        return v

    @model_validator(mode="after")
    def _reserved(self) -> StampingSpec:
        problems = [Problem(("reserved", i), bad) for i, cidr in enumerate(self.reserved) if (bad := cidr_problem(cidr))]
        if self.pool is not None and not problems:
            pool = parse_network(self.pool)
            for i, cidr in enumerate(self.reserved):
                if pool.subnet_of(parse_network(cidr)):
                    problems.append(Problem(("reserved", i), f"{cidr} covers the whole pool {pool}: nothing is left to allocate"))
        if self.ephemeral and self.pool is not None:
            problems.append(Problem(("pool",), "a stamped (ephemeral) environment has no pool of its own; stamp from its base"))
        if problems:
            raise_problems(problems)
        return self
