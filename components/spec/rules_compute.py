"""Cross-field rules of compute governance (access.compute and the cluster policies it lives beside).

Registered in components.spec.rules.RULES; each returns every problem with its field path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.planning.naming import slug
from components.spec.errors import Problem

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec

# Disabling legacy access or legacy DBFS also disables Databricks Runtime versions before 13.3 LTS
# (pulumi-databricks DisableLegacyAccessSetting and DisableLegacyDbfsSetting docs).
LEGACY_FREE_MIN_RUNTIME = (13, 3)
COMPUTE = ("access", "compute")
Path = tuple[str | int, ...]


def _runtime(line: str) -> tuple[int, int] | None:
    major, _, minor = line.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def compute_references(spec: EnvironmentSpec) -> list[Problem]:
    """Personal Compute and SQL warehouses name declared principals; warehouses are unique and usable."""
    access = spec.access
    compute = access.compute
    groups = {g.name: g for g in access.groups}
    sps = {s.name: s for s in access.service_principals}
    out: list[Problem] = []
    for j, g in enumerate(compute.personal_compute.groups):
        if g not in groups:
            out.append(Problem((*COMPUTE, "personal_compute", "groups", j), f"unknown group {g!r}; declare it in access.groups"))
    seen: dict[str, int] = {}
    for i, wh in enumerate(compute.sql_warehouses):
        path = (*COMPUTE, "sql_warehouses", i)
        if (key := slug(wh.name)) in seen:
            out.append(Problem(path, f"the warehouse name (ignoring case and punctuation) repeats entry {seen[key]}"))
        seen.setdefault(key, i)
        if not wh.groups and not wh.service_principals:
            out.append(Problem((*path, "groups"), "nobody may use this warehouse; name at least one group or service principal"))
        # Using a warehouse takes the Databricks SQL access entitlement besides CAN_USE
        # (terraform-provider-databricks docs/resources/sql_endpoint.md, "Access control").
        for j, g in enumerate(wh.groups):
            if g not in groups:
                out.append(Problem((*path, "groups", j), f"unknown group {g!r}; declare it in access.groups"))
            elif not groups[g].databricks_sql_access:
                out.append(Problem((*path, "groups", j), f"group {g!r} lacks databricks_sql_access, so CAN_USE on a warehouse "
                                                         "gives it nothing; set it on the group"))
        for j, s in enumerate(wh.service_principals):
            if s not in sps:
                out.append(Problem((*path, "service_principals", j),
                                   f"unknown service principal {s!r}; declare it in access.service_principals"))
            elif not sps[s].databricks_sql_access:
                out.append(Problem((*path, "service_principals", j),
                                   f"service principal {s!r} lacks databricks_sql_access; set it on the service principal"))
    return out


def legacy_features(spec: EnvironmentSpec) -> list[Problem]:
    """With legacy DBFS disabled, cluster logs cannot go to DBFS; with legacy access or DBFS disabled, no runtime
    line before 13.3 LTS starts."""
    access = spec.access
    compute = access.compute
    out: list[Problem] = []
    pc = compute.personal_compute
    logs: list[tuple[Path, str]] = [
        (("access", "cluster_policies", i, "cluster_log_path"), p.cluster_log_path) for i, p in enumerate(access.cluster_policies)]
    if pc.cluster_log_path is not None:
        logs.append(((*COMPUTE, "personal_compute", "cluster_log_path"), pc.cluster_log_path))
    if compute.disable_legacy_dbfs:
        out += [Problem(path, f"{log!r} is in DBFS, which access.compute.disable_legacy_dbfs closes to every cluster; "
                              "ship cluster logs to a Unity Catalog volume (/Volumes/...)")
                for path, log in logs if log.startswith("dbfs:/")]
    if compute.disable_legacy_access or compute.disable_legacy_dbfs:
        which = "disable_legacy_access" if compute.disable_legacy_access else "disable_legacy_dbfs"
        lines: list[tuple[Path, tuple[str, ...]]] = [
            (("access", "cluster_policies", i, "lts_versions"), p.lts_versions) for i, p in enumerate(access.cluster_policies)]
        lines.append(((*COMPUTE, "personal_compute", "lts_versions"), pc.lts_versions))
        for path, versions in lines:
            old = [v for v in versions if (r := _runtime(v)) is not None and r < LEGACY_FREE_MIN_RUNTIME]
            if old:
                out.append(Problem(path, f"runtime line(s) {', '.join(old)} predate 13.3 LTS, which access.compute.{which} "
                                         "turns off; list 13.3 or newer"))
    return out


def serverless_egress(spec: EnvironmentSpec) -> list[Problem]:
    egress = spec.access.compute.serverless_egress
    path = (*COMPUTE, "serverless_egress")
    if egress.mode != "restricted":
        return [Problem((*path, field), f"only a restricted network policy lists allowed destinations (mode is {egress.mode!r})")
                for field in ("allowed_domains", "allowed_storage_accounts") if getattr(egress, field)]
    return []


def enhanced_security(spec: EnvironmentSpec) -> list[Problem]:
    """The add-on's features need a Premium workspace
    (https://learn.microsoft.com/azure/databricks/security/privacy/enhanced-security-compliance)."""
    ws = spec.workspace
    if ws.enhanced_security.any_enabled and ws.sku != "premium":
        return [Problem(("workspace", "sku"), "enhanced security and compliance features need a Premium workspace")]
    return []


def compliance_advisories(spec: EnvironmentSpec) -> list[str]:
    """What the compliance security profile asks of the rest of the environment (learn.microsoft.com/azure/databricks/
    security/privacy/enhanced-security-compliance and .../security-profile)."""
    es = spec.workspace.enhanced_security
    notes = []
    if es.compliance_security_profile:
        notes.append("the compliance security profile is permanent once deployed, needs outbound TCP 2443 from the "
                     "compute plane where egress is restricted (the hub firewall), and refuses Gen2 and Arm64 VM sizes")
        if "PCI_DSS" in es.compliance_standards:
            notes.append("with PCI_DSS, Azure Databricks starts no serverless compute in this workspace")
    return notes


RULES = (compute_references, legacy_features, serverless_egress, enhanced_security)
