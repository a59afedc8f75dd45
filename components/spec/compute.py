"""Compute governance: the cluster policies every cluster launches under, and who may use them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from components.planning.cluster_policies import BaselineOptions, options_problems
from components.spec.base import StrictModel
from components.spec.errors import Problem, raise_problems

_AUTOTERMINATION = ("autotermination_min", "autotermination_max", "autotermination_default")


class ClusterPolicySpec(StrictModel):
    """A baseline policy (components.planning.cluster_policies) and the groups that may use it.

    `cluster_type` is the policy's kind, pinned in the definition: "all-purpose" (interactive clusters,
    autotermination required) or "job" (the clusters job runs create; they end with the run and carry no
    autotermination). A job policy serves service principals only: in SINGLE_USER mode each job cluster
    is dedicated to the principal it runs as (single_user_name pinned to the one service principal's
    application id, or allowlisted among several)."""

    name: str
    cluster_type: Literal["all-purpose", "job"] = "all-purpose"
    groups: tuple[str, ...] = ()
    service_principals: tuple[str, ...] = ()
    data_security_mode: Literal["USER_ISOLATION", "SINGLE_USER"] = "USER_ISOLATION"
    # Minutes; unset takes the baseline's 10 / 120 / 30 on an all-purpose policy. A job policy sets none.
    autotermination_min: int | None = None
    autotermination_max: int | None = None
    autotermination_default: int | None = None
    node_types: tuple[str, ...] = ("Standard_D4ds_v5", "Standard_D8ds_v5", "Standard_E8ds_v5")
    min_workers: int = 1
    max_workers: int = 8
    lts_versions: tuple[str, ...] = ("15.4", "16.4")
    init_scripts_allowed_prefix: str | None = None
    encryption_init_script: str | None = None
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
        # The service principals' names stand in for their application ids (resolved by the component).
        problems = [Problem(("service_principals",) if field == "single_user_names" else (field,), reason)
                    for field, reason in options_problems(self.baseline_options("env", "cost-center", self.service_principals))]
        if self.cluster_type == "job":
            problems += [Problem((field,), "a job cluster ends with its run and takes no autotermination_minutes "
                                           "(Jobs API); leave it out of a job policy")
                         for field in _AUTOTERMINATION if getattr(self, field) is not None]
            if self.groups:
                problems.append(Problem(("groups",), "a job policy serves the service principals jobs run as; "
                                                     "people launch interactive clusters under an all-purpose policy"))
        if problems:
            raise_problems(problems)
        return self

    def baseline_options(self, environment: str, cost_center: str,
                         single_user_names: tuple[str, ...] = ()) -> BaselineOptions:
        """The planner's options; `single_user_names` are the application ids of the policy's service
        principals, pinned as single_user_name on a SINGLE_USER job policy."""
        pinned = single_user_names if self.cluster_type == "job" and self.data_security_mode == "SINGLE_USER" else ()
        options = {k: v for k, v in self.model_dump(exclude={"name", "groups", "service_principals"}).items()
                   if v is not None}  # unset autotermination bounds take the baseline's defaults
        return BaselineOptions(environment=environment, cost_center=cost_center, single_user_names=tuple(pinned), **options)
