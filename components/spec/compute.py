"""Compute governance: the cluster policies every cluster launches under, and who may use them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.planning.cluster_policies import BaselineOptions, options_problems, policy_name_problem
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
    cluster_log_path: str = "dbfs:/cluster-logs"
    max_clusters_per_user: int = 2

    @field_validator("name")
    @classmethod
    def _policy_name(cls, v: str) -> str:
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


class PersonalComputeSpec(StrictModel):
    """The built-in Personal Compute policy (single-node, dedicated all-purpose compute).

    By default every user of the account may use it. The account-wide Personal Compute setting decides
    that: ON grants it to all users of every workspace whatever the policy's permissions say; DELEGATE
    leaves it to each workspace's policy permissions (databricks-sdk settings.PersonalComputeMessageEnum).
    So the toolkit sets DELEGATE (`account_setting`), grants the policy to `groups` only (its permissions
    replace the default grant to all users) and overrides the family with the baseline's locks."""

    # "delegate": this stack sets the account-wide setting to DELEGATE (and leaves it so on destroy, since
    # deleting it would turn Personal Compute back ON for every workspace in the account). "unmanaged": the
    # account's setting is someone else's to keep at DELEGATE; with ON, the permissions below do not hold.
    account_setting: Literal["delegate", "unmanaged"] = "delegate"
    # Who may use it in this workspace: the policy's permissions are set to these groups, replacing whatever its
    # access list held. None: the toolkit sets no permissions (the provider needs at least one entry and refuses
    # "admins"), and under DELEGATE only principals added to the access list may use it (settings API docs).
    groups: tuple[str, ...] = ()
    node_types: tuple[str, ...] = ("Standard_D4ds_v5", "Standard_D8ds_v5")
    lts_versions: tuple[str, ...] = ("15.4", "16.4")
    autotermination_max: int = 60
    # Where its clusters ship their logs (dbfs:/... or /Volumes/...); None: the policy leaves logging to the user.
    cluster_log_path: str | None = None

    @model_validator(mode="after")
    def _options(self) -> PersonalComputeSpec:
        # The bounds derived from autotermination_max (min 10, default up to 30) report at autotermination_max.
        derived = {"autotermination_min": "autotermination_max", "autotermination_default": "autotermination_max"}
        problems = [Problem((derived.get(field, field),), reason)
                    for field, reason in options_problems(self.options("env", "cost-center"))]
        if problems:
            raise_problems(problems)
        return self

    def options(self, environment: str, cost_center: str) -> BaselineOptions:
        return BaselineOptions(environment=environment, cost_center=cost_center, node_types=self.node_types,
                               lts_versions=self.lts_versions, cluster_log_path=self.cluster_log_path or "dbfs:/cluster-logs",
                               autotermination_max=self.autotermination_max,
                               autotermination_default=min(30, self.autotermination_max), data_security_mode="SINGLE_USER")


# SQL warehouse sizes and limits: databricks-sdk sql.CreateWarehouseRequest (cluster_size; min_num_clusters 1-30;
# max_num_clusters >= min, <= 40; auto_stop_mins "== 0 or >= 10"), https://docs.databricks.com/api/workspace/warehouses/create.


class SqlWarehouseSpec(StrictModel):
    """A SQL warehouse the toolkit declares, and who may use it (CAN_USE).

    Nobody else creates warehouses: creating one takes workspace admin or unrestricted cluster creation, which the
    toolkit grants no group. Serverless warehouses are PRO warehouses; cluster policies do not apply to them, the
    workspace's serverless network policy (ServerlessEgressSpec) does."""

    name: str
    groups: tuple[str, ...] = ()
    service_principals: tuple[str, ...] = ()
    cluster_size: Literal["2X-Small", "X-Small", "Small", "Medium", "Large", "X-Large", "2X-Large", "3X-Large",
                          "4X-Large", "5X-Large"] = "Small"
    serverless: bool = True
    min_clusters: int = Field(default=1, ge=1, le=30)
    max_clusters: int = Field(default=1, ge=1, le=40)
    auto_stop_minutes: int = Field(default=10, ge=10, le=10_000)  # 0 (never stop) is not offered

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.()-]{0,99}", v):
            raise ValueError("1-100 letters, digits, spaces and _ . ( ) -")
        return v

    @model_validator(mode="after")
    def _clusters(self) -> SqlWarehouseSpec:
        if self.min_clusters > self.max_clusters:
            raise_problems([Problem(("max_clusters",), f"{self.max_clusters} is below min_clusters {self.min_clusters}")])
        return self


_DNS_NAME = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")


class ServerlessEgressSpec(StrictModel):
    """Where serverless compute (notebooks, jobs, pipelines, SQL warehouses) may connect: an account network policy
    bound to this workspace (serverless egress control,
    https://learn.microsoft.com/azure/databricks/security/network/serverless-network-security/network-policies).

    Serverless compute cannot be switched off per workspace by API, and every user of a workspace enabled for
    serverless notebooks may use it (https://learn.microsoft.com/azure/databricks/compute/use-compute): its egress
    is what the toolkit governs. "restricted" allows only Unity Catalog locations and connections (always
    allowed) plus the domains and storage accounts listed here; "full" allows the Internet; "account_default"
    leaves the workspace on the account's default-policy."""

    mode: Literal["restricted", "full", "account_default"] = "restricted"
    enforcement: Literal["ENFORCED", "DRY_RUN"] = "ENFORCED"  # DRY_RUN only logs denials
    allowed_domains: tuple[str, ...] = ()
    allowed_storage_accounts: tuple[str, ...] = ()

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in v if not _DNS_NAME.fullmatch(d)]
        if bad:
            raise ValueError(f"not DNS names (lowercase, optionally *.): {', '.join(map(repr, bad))}")
        return v

    @field_validator("allowed_storage_accounts")
    @classmethod
    def _accounts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in v if not _STORAGE_ACCOUNT.fullmatch(a)]
        if bad:
            raise ValueError(f"not storage account names (3-24 lowercase letters and digits): {', '.join(map(repr, bad))}")
        return v


class ComputeGovernanceSpec(StrictModel):
    """Every compute path besides the toolkit's own cluster policies. Class defaults are prod's."""

    personal_compute: PersonalComputeSpec = PersonalComputeSpec()
    sql_warehouses: tuple[SqlWarehouseSpec, ...] = ()
    serverless_egress: ServerlessEgressSpec = ServerlessEgressSpec()
    # DisableLegacyAccessSetting: no direct Hive metastore access, no fallback mode on external locations, no
    # runtime before 13.3 LTS (pulumi-databricks DisableLegacyAccessSetting docs).
    disable_legacy_access: bool = True
    # DisableLegacyDbfsSetting: no DBFS root or mounts, no runtime before 13.3 LTS
    # (https://learn.microsoft.com/azure/databricks/dbfs/disable-dbfs-root-mounts); cluster logs must go to a volume.
    disable_legacy_dbfs: bool = True
    # RestrictWorkspaceAdminsSetting RESTRICT_TOKENS_AND_JOB_RUN_AS: admins create tokens for, and run jobs as,
    # only service principals they hold the Service Principal User role on. Only an account admin who is a
    # member of the workspace may set it (pulumi-databricks RestrictWorkspaceAdminsSetting docs).
    restrict_workspace_admins: bool = True
