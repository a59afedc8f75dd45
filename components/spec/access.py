"""Workspace access control: IP access lists and hardened settings here; identities (components.spec.identity)
and compute governance (components.spec.compute) in modules of their own, gathered by AccessSpec."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from components.facts import NON_PUBLIC
from components.spec.base import StrictModel
from components.spec.compute import ClusterPolicySpec, ComputeGovernanceSpec
from components.spec.identity import GroupSpec, IdentitySync, ServicePrincipalSpec

# Databricks counts every IP or CIDR of every list against one workspace-wide quota.
MAX_IP_ACCESS_VALUES = 1000
# Ranges the lists never see: they match the public source address of a request.
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
    for special in NON_PUBLIC:
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


# In creation order: the deployer's own range first (components/access/settings.py).
RESERVED_LABELS = ("ci-egress", "break-glass", "compute-plane-egress")


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
        """Every ALLOW list the workspace gets, the toolkit's own first and the deployer's (ci-egress) before them."""
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


__all__ = ["AccessSpec", "ClusterPolicySpec", "GroupSpec", "IpAccessSpec", "IpList", "ServicePrincipalSpec",
           "WorkspaceSettingsSpec"]


class AccessSpec(StrictModel):
    ip_access: IpAccessSpec = IpAccessSpec()
    settings: WorkspaceSettingsSpec = WorkspaceSettingsSpec()
    groups: tuple[GroupSpec, ...] = ()
    service_principals: tuple[ServicePrincipalSpec, ...] = ()
    cluster_policies: tuple[ClusterPolicySpec, ...] = ()
    # How groups reach the account from Entra ID: automatic identity management or SCIM (components.spec.identity).
    identity_sync: IdentitySync = "automatic"
    # Personal Compute, SQL warehouses, serverless egress, legacy access and DBFS, workspace admins.
    compute: ComputeGovernanceSpec = ComputeGovernanceSpec()
    # Personal access tokens for human groups (can_use_tokens): dev allows them, staging only with this set,
    # prod never (tokens there belong to named service principals).
    allow_human_tokens: bool = False
