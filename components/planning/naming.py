"""Resource names and Azure's naming rules. Pure functions, no Pulumi.

Every physical name the toolkit sets comes from `plan_names`, and `name_problems` checks
each one against Azure's rules for its kind before anything is registered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import ClassVar

from components.planning import container_insights
from components.planning.regions import region_code


@dataclass(frozen=True)
class NameRule:
    min_len: int
    max_len: int
    pattern: str  # full-match regex
    allowed: str  # the characters rule in words, for the error message
    global_scope: bool = False  # unique across all of Azure (part of a public DNS name)


_DASHED = r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?"

NAME_RULES: dict[str, NameRule] = {
    "resource_group": NameRule(1, 90, r"[A-Za-z0-9_.()-]*[A-Za-z0-9_()-]", "letters, digits, _ . ( ) -, not ending in ."),
    "virtual_network": NameRule(2, 64, _DASHED, "letters, digits, _ . -; starts with a letter or digit, ends with a letter, digit or _"),
    "subnet": NameRule(1, 80, _DASHED, "letters, digits, _ . -; starts with a letter or digit, ends with a letter, digit or _"),
    "network_security_group": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "application_security_group": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "security_rule": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "public_ip": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "nat_gateway": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "route_table": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "private_endpoint": NameRule(2, 64, _DASHED, "letters, digits, _ . -"),
    "dns_link": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "databricks_workspace": NameRule(3, 64, r"[A-Za-z0-9_-]+", "letters, digits, _ -"),
    "access_connector": NameRule(3, 64, r"[A-Za-z0-9_-]+", "letters, digits, _ -"),
    "aks_cluster": NameRule(1, 63, r"[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?", "letters, digits, _ -; starts and ends alphanumeric"),
    "log_analytics": NameRule(4, 63, r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits, -; starts and ends alphanumeric"),
    "storage_account": NameRule(3, 24, r"[a-z0-9]+", "lowercase letters and digits only", global_scope=True),
    "key_vault": NameRule(3, 24, r"[A-Za-z](-?[A-Za-z0-9])*", "letters, digits and single hyphens; starts with a letter, ends "
                          "with a letter or digit", global_scope=True),
    "key": NameRule(1, 127, r"[A-Za-z0-9-]+", "letters, digits, -"),
    "event_hub_namespace": NameRule(6, 50, r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", "letters, digits, -; starts with a letter, "
                                    "ends with a letter or digit", global_scope=True),
    "event_hub": NameRule(1, 256, r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?", "letters, digits, _ . -"),
    "sql_server": NameRule(1, 63, r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", "lowercase letters, digits, -; not starting or ending "
                           "with -", global_scope=True),
    "action_group": NameRule(1, 260, r"[^/&%\\?]+", "no / & % \\ ?"),
    "action_group_short": NameRule(1, 12, r"[A-Za-z0-9 _-]+", "up to 12 letters, digits, spaces, _ -"),
    "alert_rule": NameRule(1, 260, r"[^*#&+:<>?@%{}\\/]+", "no * # & + : < > ? @ % { } \\ /"),
    "flow_log": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    # Azure Monitor Private Link Scope: the schema constrains nothing; the dashed subset every network name takes.
    "monitor_private_link_scope": NameRule(1, 255, _DASHED, "letters, digits, _ . -"),
    "lock": NameRule(1, 90, r"[^<>*%:?/\\+]+", "no < > * % : ? / \\ +"),
    "bastion_host": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "network_interface": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    "virtual_machine": NameRule(1, 64, r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits, -; starts and ends "
                                "alphanumeric (it is also the Linux host name)"),
    "managed_disk": NameRule(1, 80, _DASHED, "letters, digits, _ . -"),
    # Container Insights' data collection rule and configuration endpoint (the ARM schema constrains neither name):
    # the onboarding template's lengths (components/planning/container_insights.py), its endpoint never ending in -.
    "data_collection_rule": NameRule(1, 64, r"[A-Za-z0-9_.-]+", "letters, digits, _ . -"),
    "data_collection_endpoint": NameRule(1, 43, r"[A-Za-z0-9_.-]*[A-Za-z0-9_.]", "letters, digits, _ . -; not ending in -"),
    # A resource's place in an Azure Monitor Private Link Scope: the schema constrains nothing; the dashed subset.
    "monitor_scoped_resource": NameRule(1, 255, _DASHED, "letters, digits, _ . -"),
    # Microsoft.ManagedIdentity/userAssignedIdentities: the vendored ARM schema (2023-01-31) leaves the name free; the
    # rule is Microsoft's "Naming rules and restrictions for Azure resources" (learn.microsoft.com,
    # azure-resource-manager/management/resource-name-rules): 3-128, alphanumerics, hyphens and underscores, starting
    # with a letter or number.
    "user_assigned_identity": NameRule(3, 128, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, _ -; starts with a letter "
                                       "or digit"),
}


def name_problem(kind: str, value: str) -> str | None:
    """Why `value` is not a valid Azure name of this kind, or None when it is."""
    rule = NAME_RULES[kind]
    if not rule.min_len <= len(value) <= rule.max_len:
        return f"{kind.replace('_', ' ')} name {value!r} is {len(value)} characters; Azure allows {rule.min_len}-{rule.max_len}"
    if not re.fullmatch(rule.pattern, value):
        return f"{kind.replace('_', ' ')} name {value!r} breaks Azure's rule: {rule.allowed}"
    return None


def slug(name: str) -> str:
    """A name as it goes into a Pulumi logical name: lowercase, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def short_hash(*parts: str, length: int = 4) -> str:
    """A stable lowercase hex suffix (sha256, never Python's salted hash())."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class NamePlan:
    """Every physical name of one environment. Field name → (kind, value) via `items()`."""

    resource_group: str
    transit_resource_group: str
    virtual_network: str
    transit_virtual_network: str
    host_subnet: str
    container_subnet: str
    private_endpoint_subnet: str
    transit_private_endpoint_subnet: str
    network_security_group: str
    endpoint_network_security_group: str
    # Prefix of the private endpoints' application security groups, one per endpoint class: `<prefix>-<class>`.
    endpoint_application_security_group: str
    nat_gateway: str
    nat_public_ip: str
    route_table: str
    workspace: str
    managed_resource_group: str
    workspace_storage_account: str
    access_connector: str
    webauth_workspace: str
    backend_endpoint: str
    frontend_endpoint: str
    webauth_endpoint: str
    dfs_endpoint: str
    blob_endpoint: str
    aks_cluster: str
    aks_subnet: str
    aks_network_security_group: str
    # Container Insights of the AKS cluster: its data collection rule, and (behind a monitor private link scope) its
    # configuration endpoint and that endpoint's place in the scope.
    aks_data_collection_rule: str
    aks_data_collection_endpoint: str
    aks_data_collection_endpoint_scoped: str
    log_analytics: str
    # The Log Analytics workspace's place in the monitor private link scope.
    log_analytics_scoped: str
    key_vault: str
    cmk_key: str
    key_vault_endpoint: str
    data_lake_storage_account: str
    data_lake_access_connector: str
    data_lake_dfs_endpoint: str
    data_lake_blob_endpoint: str
    sql_server: str
    sql_endpoint: str
    flow_log_storage_account: str
    flow_log: str
    # The flow log's managed identity (writes to the flow-log storage account).
    flow_log_identity: str
    event_hub_namespace: str
    event_hub: str
    event_hub_endpoint: str
    monitor_private_link_scope: str
    monitor_endpoint: str
    action_group: str
    action_group_short: str
    alert_prefix: str
    lock: str
    bastion_subnet: str
    bastion_host: str
    bastion_public_ip: str
    bastion_network_security_group: str
    jump_host_subnet: str
    jump_host_network_security_group: str
    jump_host_nic: str
    jump_host_vm: str
    jump_host_os_disk: str

    _KINDS: ClassVar[dict[str, str]] = {
        "resource_group": "resource_group",
        "transit_resource_group": "resource_group",
        "virtual_network": "virtual_network",
        "transit_virtual_network": "virtual_network",
        "host_subnet": "subnet",
        "container_subnet": "subnet",
        "private_endpoint_subnet": "subnet",
        "transit_private_endpoint_subnet": "subnet",
        "network_security_group": "network_security_group",
        "endpoint_network_security_group": "network_security_group",
        "endpoint_application_security_group": "application_security_group",
        "nat_gateway": "nat_gateway",
        "nat_public_ip": "public_ip",
        "route_table": "route_table",
        "workspace": "databricks_workspace",
        "managed_resource_group": "resource_group",
        "workspace_storage_account": "storage_account",
        "access_connector": "access_connector",
        "webauth_workspace": "databricks_workspace",
        "backend_endpoint": "private_endpoint",
        "frontend_endpoint": "private_endpoint",
        "webauth_endpoint": "private_endpoint",
        "dfs_endpoint": "private_endpoint",
        "blob_endpoint": "private_endpoint",
        "aks_cluster": "aks_cluster",
        "aks_subnet": "subnet",
        "aks_network_security_group": "network_security_group",
        "aks_data_collection_rule": "data_collection_rule",
        "aks_data_collection_endpoint": "data_collection_endpoint",
        "aks_data_collection_endpoint_scoped": "monitor_scoped_resource",
        "log_analytics": "log_analytics",
        "log_analytics_scoped": "monitor_scoped_resource",
        "key_vault": "key_vault",
        "cmk_key": "key",
        "key_vault_endpoint": "private_endpoint",
        "data_lake_storage_account": "storage_account",
        "data_lake_access_connector": "access_connector",
        "data_lake_dfs_endpoint": "private_endpoint",
        "data_lake_blob_endpoint": "private_endpoint",
        "sql_server": "sql_server",
        "sql_endpoint": "private_endpoint",
        "flow_log_storage_account": "storage_account",
        "flow_log": "flow_log",
        "flow_log_identity": "user_assigned_identity",
        "event_hub_namespace": "event_hub_namespace",
        "event_hub": "event_hub",
        "event_hub_endpoint": "private_endpoint",
        "monitor_private_link_scope": "monitor_private_link_scope",
        "monitor_endpoint": "private_endpoint",
        "action_group": "action_group",
        "action_group_short": "action_group_short",
        "alert_prefix": "alert_rule",
        "lock": "lock",
        "bastion_subnet": "subnet",
        "bastion_host": "bastion_host",
        "bastion_public_ip": "public_ip",
        "bastion_network_security_group": "network_security_group",
        "jump_host_subnet": "subnet",
        "jump_host_network_security_group": "network_security_group",
        "jump_host_nic": "network_interface",
        "jump_host_vm": "virtual_machine",
        "jump_host_os_disk": "managed_disk",
    }

    def items(self) -> Iterator[tuple[str, str, str]]:
        for f in fields(self):
            yield f.name, self._KINDS[f.name], getattr(self, f.name)

    def global_names(self) -> dict[str, str]:
        """The names that must be unique across all of Azure, not just their resource group."""
        return {field: value for field, kind, value in self.items() if NAME_RULES[kind].global_scope}


def plan_names(prefix: str, env: str, region: str, unique_suffix: str | None = None) -> NamePlan:
    """Names of the form <kind>-<prefix>-<env>-<region code>; global names add a stable suffix."""
    rc = region_code(region)
    base = f"{prefix}-{env}-{rc}"
    suffix = unique_suffix if unique_suffix is not None else short_hash(prefix, env, region)
    compact = re.sub(r"[^a-z0-9]", "", f"{prefix}{env}{rc}".lower())
    aks_cluster = f"aks-{base}"
    aks_dce = container_insights.data_collection_endpoint_name(region, aks_cluster)
    return NamePlan(
        resource_group=f"rg-{base}",
        transit_resource_group=f"rg-{base}-transit",
        virtual_network=f"vnet-{base}",
        transit_virtual_network=f"vnet-{base}-transit",
        host_subnet="snet-dbw-host",
        container_subnet="snet-dbw-container",
        private_endpoint_subnet="snet-private-endpoints",
        transit_private_endpoint_subnet="snet-private-endpoints",
        network_security_group=f"nsg-{base}-dbw",
        endpoint_network_security_group=f"nsg-{base}-pe",
        endpoint_application_security_group=f"asg-{base}-pe",
        nat_gateway=f"ng-{base}",
        nat_public_ip=f"pip-{base}-nat",
        route_table=f"rt-{base}-egress",
        workspace=f"dbw-{base}",
        managed_resource_group=f"rg-{base}-dbw-managed",
        workspace_storage_account=f"st{compact}{suffix}",
        access_connector=f"ac-{base}",
        # One browser-authentication workspace per region: the name warns people off deleting it.
        webauth_workspace=f"WEBAUTH_DO_NOT_DELETE_{region.upper()}",
        backend_endpoint=f"pe-{base}-backend",
        frontend_endpoint=f"pe-{base}-frontend",
        webauth_endpoint=f"pe-{base}-webauth",
        dfs_endpoint=f"pe-{base}-dfs",
        blob_endpoint=f"pe-{base}-blob",
        aks_cluster=aks_cluster,
        aks_subnet="snet-aks",
        aks_network_security_group=f"nsg-{base}-aks",
        aks_data_collection_rule=container_insights.data_collection_rule_name(region, aks_cluster),
        aks_data_collection_endpoint=aks_dce,
        aks_data_collection_endpoint_scoped=f"{aks_dce}-connection",
        log_analytics=f"log-{base}",
        log_analytics_scoped=f"log-{base}-connection",
        key_vault=f"kv{compact}{suffix}",
        cmk_key="cmk-databricks",
        key_vault_endpoint=f"pe-{base}-kv",
        data_lake_storage_account=f"dl{compact}{suffix}",
        data_lake_access_connector=f"ac-{base}-lake",
        data_lake_dfs_endpoint=f"pe-{base}-lake-dfs",
        data_lake_blob_endpoint=f"pe-{base}-lake-blob",
        sql_server=f"sql-{base}-{suffix}",
        sql_endpoint=f"pe-{base}-sql",
        flow_log_storage_account=f"fl{compact}{suffix}",
        flow_log=f"fl-{base}-vnet",
        flow_log_identity=f"id-fl-{base}-vnet",
        event_hub_namespace=f"evhns-{base}-{suffix}",
        event_hub="audit-logs",
        event_hub_endpoint=f"pe-{base}-evhns",
        monitor_private_link_scope=f"ampls-{base}",
        monitor_endpoint=f"pe-{base}-ampls",
        action_group=f"ag-{base}-security",
        action_group_short=f"bw{env}"[:12],
        alert_prefix=f"alert-{base}",
        lock="do-not-delete",
        # Azure keys Bastion off this exact subnet name.
        bastion_subnet="AzureBastionSubnet",
        bastion_host=f"bas-{base}",
        bastion_public_ip=f"pip-{base}-bastion",
        bastion_network_security_group=f"nsg-{base}-bastion",
        jump_host_subnet="snet-jump-host",
        jump_host_network_security_group=f"nsg-{base}-jump",
        jump_host_nic=f"nic-{base}-jump",
        jump_host_vm=f"vm-{base}-jump",
        jump_host_os_disk=f"osdisk-{base}-jump",
    )


def name_problems(plan: NamePlan) -> list[tuple[str, str]]:
    """(field, reason) for every planned name that breaks Azure's rules."""
    out = []
    for field, kind, value in plan.items():
        problem = name_problem(kind, value)
        if problem:
            out.append((field, problem))
    return out


def ncc_name(prefix: str, environment: str) -> str:
    """The default NCC name: at most 6 + 5 + 12 = 23 characters of [a-z0-9-], inside Databricks' ^[0-9a-zA-Z-_]{3,30}$."""
    return f"{prefix}-ncc-{environment}"
