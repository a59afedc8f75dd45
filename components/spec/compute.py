"""Compute governance: the cluster policies every cluster launches under, and who may use them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from components.planning.cluster_policies import BaselineOptions, options_problems
from components.spec.base import StrictModel
from components.spec.errors import Problem, raise_problems


class ClusterPolicySpec(StrictModel):
    """A baseline policy (components.planning.cluster_policies) and the groups that may use it."""

    name: str
    groups: tuple[str, ...] = ()
    service_principals: tuple[str, ...] = ()
    data_security_mode: Literal["USER_ISOLATION", "SINGLE_USER"] = "USER_ISOLATION"
    autotermination_min: int = 10
    autotermination_max: int = 120
    autotermination_default: int = 30
    node_types: tuple[str, ...] = ("Standard_D4ds_v5", "Standard_D8ds_v5", "Standard_E8ds_v5")
    min_workers: int = 1
    max_workers: int = 8
    lts_versions: tuple[str, ...] = ("15.4", "16.4")
    init_scripts_allowed_prefix: str | None = None
    cluster_log_path: str = "dbfs:/cluster-logs"
    max_clusters_per_user: int = 2

    @field_validator("name")
    @classmethod
    def _policy_name(cls, v: str) -> str:
        from components.planning.cluster_policies import policy_name_problem

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.()-]{0,99}", v):
            raise ValueError("1-100 letters, digits, spaces and _ . ( ) -")
        if problem := policy_name_problem(v):
            raise ValueError(f"{problem}: creating it fails with 'already exists'")
        return v

    @model_validator(mode="after")
    def _options(self) -> ClusterPolicySpec:
        if problems := options_problems(self.baseline_options("env", "cost-center")):
            raise_problems([Problem((field,), reason) for field, reason in problems])
        return self

    def baseline_options(self, environment: str, cost_center: str) -> BaselineOptions:
        return BaselineOptions(environment=environment, cost_center=cost_center,
                               **self.model_dump(exclude={"name", "groups", "service_principals"}))
