"""What each audited resource sends to Log Analytics: diagnostic log categories per target kind, and the audit tables.

Dependency-free on purpose (standard library only): the CrossGuard pack (policies/brickwall_rules/audit.py) imports
this module under the Pulumi CLI with only policies/requirements.txt installed, so the categories the component
asks for and the categories the policy demands are the same tuple.

Sources:
- Azure Databricks: "Supported logs for Microsoft.Databricks/workspaces" (Azure Monitor reference,
  https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-databricks-workspaces-logs;
  MicrosoftDocs/azure-reference-other azure-monitor-ref/supported-logs/includes/Microsoft-Databricks-workspaces-logs-include.md),
  every category that has its own audit table, with the table names from the Azure Monitor query "List all
  Databricks Diagnostic Settings categories" (https://learn.microsoft.com/azure/azure-monitor/reference/queries/databricksworkspacelogs).
  Newer categories that land only in DatabricksWorkspaceLogs (Apps, Dashboards, ClusterPolicies, ...) are not
  offered in every region yet; a category a region does not offer fails the whole setting, so they join this
  table once they are generally available.
- AKS: "Supported logs for Microsoft.ContainerService/managedClusters"; kube-audit-admin (writes, without the
  get/list noise of kube-audit) rather than kube-audit.
- Key Vault: AuditEvent ("Supported logs for Microsoft.KeyVault/vaults").
- Storage: StorageRead/StorageWrite/StorageDelete on the blob service ("Supported logs for
  Microsoft.Storage/storageAccounts/blobServices").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from components.planning.tier_limits import KNOWN_TIERS

DATABRICKS = "databricks_workspace"
AKS = "aks"
KEY_VAULT = "key_vault"
STORAGE_BLOB = "storage_blob"
# Azure SQL server auditing to Azure Monitor reaches Log Analytics through a setting on the master database.
SQL_AUDIT = "sql_audit"

# Databricks diagnostic category -> the Log Analytics table it lands in.
DATABRICKS_TABLES: Mapping[str, str] = MappingProxyType({
    "accounts": "DatabricksAccounts",
    "capsule8Dataplane": "DatabricksCapsule8Dataplane",
    "clamAVScan": "DatabricksClamAVScan",
    "clusterLibraries": "DatabricksClusterLibraries",
    "clusters": "DatabricksClusters",
    "databrickssql": "DatabricksDatabricksSQL",
    "dbfs": "DatabricksDBFS",
    "deltaPipelines": "DatabricksDeltaPipelines",
    "featureStore": "DatabricksFeatureStore",
    "genie": "DatabricksGenie",
    "gitCredentials": "DatabricksGitCredentials",
    "globalInitScripts": "DatabricksGlobalInitScripts",
    "iamRole": "DatabricksIAMRole",
    "instancePools": "DatabricksInstancePools",
    "jobs": "DatabricksJobs",
    "mlflowAcledArtifact": "DatabricksMLflowAcledArtifact",
    "mlflowExperiment": "DatabricksMLflowExperiment",
    "modelRegistry": "DatabricksModelRegistry",
    "notebook": "DatabricksNotebook",
    "partnerHub": "DatabricksPartnerHub",
    "RemoteHistoryService": "DatabricksRemoteHistoryService",
    "repos": "DatabricksRepos",
    "secrets": "DatabricksSecrets",
    "serverlessRealTimeInference": "DatabricksServerlessRealTimeInference",
    "sqlanalytics": "DatabricksSQL",
    "sqlPermissions": "DatabricksSQLPermissions",
    "ssh": "DatabricksSSH",
    "unityCatalog": "DatabricksUnityCatalog",
    "webTerminal": "DatabricksWebTerminal",
    "workspace": "DatabricksWorkspace",
})

# Target kind -> the log categories its diagnostic setting enables (every one, explicitly).
CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    DATABRICKS: tuple(DATABRICKS_TABLES),
    AKS: ("kube-apiserver", "kube-audit-admin", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler",
          "cloud-controller-manager", "guard"),
    KEY_VAULT: ("AuditEvent",),
    STORAGE_BLOB: ("StorageRead", "StorageWrite", "StorageDelete"),
    SQL_AUDIT: ("SQLSecurityAuditEvents",),
})

# The resource-specific tables the other targets land in (logAnalyticsDestinationType "Dedicated").
RESOURCE_TABLES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    DATABRICKS: tuple(DATABRICKS_TABLES.values()),
    AKS: ("AKSAuditAdmin", "AKSControlPlane"),
    KEY_VAULT: ("AZKVAuditLogs",),
    STORAGE_BLOB: ("StorageBlobLogs",),
    SQL_AUDIT: ("AzureDiagnostics",),
})

# Targets whose logs have no resource-specific tables: they land in AzureDiagnostics.
SHARED_TABLE_KINDS = frozenset({SQL_AUDIT})

# VNet flow logs through traffic analytics, and the ingress controller's access logs through Container Insights.
FLOW_TABLE = "NTANetAnalytics"
CONTAINER_LOG_TABLE = "ContainerLogV2"

# The name every diagnostic setting this toolkit creates carries (a resource takes at most five settings).
SETTING_NAME = "brickwall-audit"

# The shortest Log Analytics retention each tier accepts (days). PCI DSS 10.5.1 keeps audit logs 12 months.
MIN_LOG_RETENTION_DAYS: Mapping[str, int] = MappingProxyType({"dev": 30, "staging": 90, "prod": 365})
assert set(MIN_LOG_RETENTION_DAYS) == set(KNOWN_TIERS)


def categories(kind: str) -> tuple[str, ...]:
    """The log categories a diagnostic setting on a `kind` target enables."""
    if kind not in CATEGORIES:
        raise ValueError(f"unknown diagnostic target kind {kind!r}; known: {', '.join(CATEGORIES)}")
    return CATEGORIES[kind]


def export_tables(kinds: tuple[str, ...], flow_logs: bool, container_logs: bool) -> tuple[str, ...]:
    """The audit tables a SIEM export carries for these targets (sorted, no duplicates)."""
    tables = {t for kind in kinds for t in RESOURCE_TABLES[kind]}
    if flow_logs:
        tables.add(FLOW_TABLE)
    if container_logs:
        tables.add(CONTAINER_LOG_TABLE)
    return tuple(sorted(tables))
