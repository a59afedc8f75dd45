"""Workspace access control: IP access lists, hardened settings, identities, tokens, cluster policies."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.planning.cluster_policies import BaselineOptions, options_problems
from components.spec.base import StrictModel, entra_guid
from components.spec.errors import Problem, raise_problems

# Databricks counts every IP or CIDR of every list against one workspace-wide quota.
MAX_IP_ACCESS_VALUES = 1000
# Ranges the lists never see: they match the public source address of a request.
NON_PUBLIC_RANGES = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4",
))
ANYWHERE = ipaddress.IPv4Network("0.0.0.0/0")


def ip_range_problem(value: str, *, allow_anywhere: bool) -> str | None:
    """Why `value` cannot be an IP access list entry, or None."""
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return f"{value!r} is not an IP address or CIDR with its host bits clear ({exc})"
    if net.version == 6:
        return f"{value}: Azure Databricks IP access lists take IPv4 addresses and ranges only"
    assert isinstance(net, ipaddress.IPv4Network)
    if net == ANYWHERE:
        return None if allow_anywhere else f"{value} allows the whole Internet"
    for special in NON_PUBLIC_RANGES:
        if net.overlaps(special):
            return (f"{value} overlaps the non-public range {special}; the lists only ever see public source "
                    "addresses, so private, shared, loopback and link-local ranges never belong in them")
    return None


def _check_ranges(values: tuple[str, ...], *, allow_anywhere: bool = False) -> tuple[str, ...]:
    problems = [p for v in values if (p := ip_range_problem(v, allow_anywhere=allow_anywhere))]
    if problems:
        raise ValueError("; ".join(problems))
    nets = [ipaddress.ip_network(v) for v in values]
    if len(set(nets)) != len(nets):
        raise ValueError("lists the same range twice")
    return values


class IpList(StrictModel):
    """One labelled IP access list."""

    label: str
    cidrs: tuple[str, ...]

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}", v):
            raise ValueError("1-64 letters, digits, spaces, _ . -")
        if v.casefold() in RESERVED_LABELS:
            raise ValueError(f"{v!r} is reserved for the list the toolkit builds from ip_access.{v.replace('-', '_')}")
        return v

    @field_validator("cidrs")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("a list needs at least one address or range")
        # 0.0.0.0/0 is caught per tier (dev may keep a list open while blocking known-bad ranges).
        return _check_ranges(v, allow_anywhere=True)


RESERVED_LABELS = ("break-glass", "ci-egress", "compute-plane-egress")


class IpAccessSpec(StrictModel):
    """Who may reach the workspace's public front end, by source address.

    The toolkit always allows `break_glass` (operators' emergency ranges) and `ci_egress` (the
    deployer's egress) as lists of their own, so a spec can never lock its operators or its own
    `pulumi up` out. BLOCK lists win over ALLOW lists in Databricks, so no BLOCK entry may cover them.
    """

    enabled: bool = True
    break_glass: tuple[str, ...] = ()
    ci_egress: tuple[str, ...] = ()
    # Without back-end private link, clusters reach the control plane from these public IPs (NAT or firewall).
    compute_plane_egress: tuple[str, ...] = ()
    allow: tuple[IpList, ...] = ()
    block: tuple[IpList, ...] = ()

    _ranges = field_validator("break_glass", "ci_egress", "compute_plane_egress")(
        classmethod(lambda cls, v: _check_ranges(v))
    )

    @property
    def value_count(self) -> int:
        lists = (self.break_glass, self.ci_egress, self.compute_plane_egress,
                 *(lst.cidrs for lst in self.allow), *(lst.cidrs for lst in self.block))
        return sum(len(x) for x in lists)

    def allow_lists(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every ALLOW list the workspace gets, the toolkit's own first."""
        own = [(label, getattr(self, label.replace("-", "_"))) for label in RESERVED_LABELS]
        return [(label, cidrs) for label, cidrs in own if cidrs] + [(lst.label, lst.cidrs) for lst in self.allow]


class WorkspaceSettingsSpec(StrictModel):
    """The workspace's security-relevant admin settings (workspace conf). Class defaults are prod's."""

    max_token_lifetime_days: int = Field(default=30, ge=1, le=730)
    personal_access_tokens: bool = True  # enableTokensConfig: who may use them is the token permissions' job
    results_download: bool = False
    notebook_export: bool = False
    table_clipboard: bool = False
    dbfs_file_browser: bool = False
    upload_data_uis: bool = False
    web_terminal: bool = False
    verbose_audit_logs: bool = True
    legacy_global_init_scripts: bool = False
    legacy_cluster_named_init_scripts: bool = False
    container_services: bool = False
    store_results_in_customer_account: bool = True
    enforce_user_isolation: bool = True
    security_headers: bool = True


_guid = entra_guid


def _display_name(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.@()-]{0,99}", v):
        raise ValueError("1-100 letters, digits, spaces and _ . @ ( ) -")
    if v.lower() in ("users", "admins", "account users"):
        raise ValueError(f"{v!r} is a built-in workspace group; the toolkit manages its entitlements itself")
    return v


class GroupSpec(StrictModel):
    """A workspace group tied to an Entra ID group: removing someone there removes them here."""

    name: str
    entra_object_id: str
    databricks_sql_access: bool = False
    # Unrestricted cluster creation: off, so people launch compute through cluster policies.
    allow_cluster_create: bool = False
    # Personal access tokens for the group's members.
    can_use_tokens: bool = False
    workspace_admin: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _display_name(v)))
    _oid = field_validator("entra_object_id")(classmethod(lambda cls, v: _guid(v)))


class ServicePrincipalSpec(StrictModel):
    """An Entra ID application for automation. It signs in with Entra OAuth (client credentials or
    workload identity federation) by default; personal access tokens only when the spec says so."""

    name: str
    application_id: str
    authentication: Literal["entra_oauth", "personal_access_token"] = "entra_oauth"
    allow_cluster_create: bool = False
    databricks_sql_access: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _display_name(v)))
    _app = field_validator("application_id")(classmethod(lambda cls, v: _guid(v)))


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
        if problems := options_problems(self.baseline_options("env", "cost-center")):
            raise_problems([Problem((field,), reason) for field, reason in problems])
        return self

    def baseline_options(self, environment: str, cost_center: str) -> BaselineOptions:
        return BaselineOptions(environment=environment, cost_center=cost_center,
                               **self.model_dump(exclude={"name", "groups", "service_principals"}))


class AccessSpec(StrictModel):
    ip_access: IpAccessSpec = IpAccessSpec()
    settings: WorkspaceSettingsSpec = WorkspaceSettingsSpec()
    groups: tuple[GroupSpec, ...] = ()
    service_principals: tuple[ServicePrincipalSpec, ...] = ()
    cluster_policies: tuple[ClusterPolicySpec, ...] = ()
    # Personal access tokens for human groups (can_use_tokens); prod rejects them unless this is set.
    allow_human_tokens: bool = False
