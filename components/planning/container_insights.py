"""Container Insights onboarding as data: the data collection rule that writes ContainerLogV2, and its names.

The AKS monitoring addon (`omsagent`) with managed-identity authentication (`useAADAuth: "true"`) does not decide
what it collects: the Azure Monitor Agent on the nodes reads a data collection rule (DCR) associated with the
cluster, and without that association nothing reaches the workspace. Microsoft's own onboarding template does three
things, which components/aks.py repeats (microsoft/Docker-Provider
scripts/onboarding/aks/onboarding-using-msi-auth/existingClusterOnboarding.json, and
MicrosoftDocs/azure-monitor-docs articles/azure-monitor/containers/kubernetes-monitoring-enable.md, ARM tab, and
container-insights-authentication.md):

1. a DCR `MSCI-<workspace region>-<cluster>` (kind Linux) with one extension data source `ContainerInsightsExtension`
   (extensionName `ContainerInsights`, `dataCollectionSettings` with `enableContainerLogV2: true`), a Log Analytics
   destination and one data flow of the same streams to it;
2. an association named `ContainerInsightsExtension` from the cluster to that DCR;
3. the addon profile `omsagent` with `logAnalyticsWorkspaceResourceID` and `useAADAuth: "true"`.

With an Azure Monitor Private Link Scope (`useAzureMonitorPrivateLinkScope`), the same template adds a configuration
data collection endpoint (DCE) `MSCI-config-<cluster region>-<cluster>` with public network access Disabled, scopes
it into the AMPLS (`<dce>-connection`) and associates it with the cluster under the fixed name
`configurationAccessEndpoint`: the agent then fetches its configuration through the private endpoint
(kubernetes-monitoring-private-link.md, "Container insights (Log Analytics workspace)": the ARM template's
`useAzureMonitorPrivateLinkScope` and `azureMonitorPrivateLinkScopeResourceId`). The workspace itself is already
scoped into the AMPLS by components/audit.py MonitorPrivateLink.
"""

from __future__ import annotations

from typing import Final

# The stream -> table names Container Insights writes (MicrosoftDocs/azure-monitor-docs
# articles/azure-monitor/containers/includes/data-collection-rule-streams.md). Microsoft's onboarding parameters
# (existingClusterParam.json) list these plus the legacy Microsoft-ContainerLog, which would write every line a
# second time into ContainerLog (retired 30 September 2026, container-insights-logs-schema.md): left out, ContainerLogV2
# is the table the ingress alerts read (components/planning/alerts.py).
STREAMS: Final[tuple[str, ...]] = (
    "Microsoft-ContainerLogV2",
    "Microsoft-KubeEvents",
    "Microsoft-KubePodInventory",
    "Microsoft-KubeNodeInventory",
    "Microsoft-KubePVInventory",
    "Microsoft-KubeServices",
    "Microsoft-KubeMonAgentEvents",
    # Node and container CPU, memory, disk and network: the metrics of Container Insights.
    "Microsoft-InsightsMetrics",
    "Microsoft-ContainerInventory",
    "Microsoft-ContainerNodeInventory",
    "Microsoft-Perf",
)
# The table the ingress access-log alerts read, and the stream that writes it.
CONTAINER_LOG_STREAM: Final = "Microsoft-ContainerLogV2"

EXTENSION_DATA_SOURCE: Final = "ContainerInsightsExtension"
EXTENSION_NAME: Final = "ContainerInsights"
DESTINATION: Final = "ciworkspace"
# The association names the template uses: the DCR's, and the fixed one of the configuration endpoint's.
DCR_ASSOCIATION: Final = "ContainerInsightsExtension"
DCE_ASSOCIATION: Final = "configurationAccessEndpoint"
# Collection interval of inventory and metrics (Microsoft's default, range 1m-30m) and no namespace filter on them;
# the system namespaces' container logs stay excluded by the agent's own default (container-insights-logs-schema.md).
DATA_COLLECTION_SETTINGS: Final[dict[str, object]] = {
    "interval": "1m",
    "namespaceFilteringMode": "Off",
    "enableContainerLogV2": True,
}
ADDON: Final = "omsagent"
# The addon's config besides the workspace: managed-identity authentication (addon config values are strings).
ADDON_AUTH: Final[dict[str, str]] = {"useAADAuth": "true"}
WORKSPACE_KEY: Final = "logAnalyticsWorkspaceResourceID"

# Length limits the template applies: a DCR name up to 64 characters, a DCE name up to 43, never ending in "-".
_DCR_MAX, _DCE_MAX = 64, 43


def _region(location: str) -> str:
    return location.replace(" ", "").lower()


def data_collection_rule_name(location: str, cluster_name: str) -> str:
    """MSCI-<workspace region>-<cluster>, cut to 64 characters (the template's dcrName)."""
    return f"MSCI-{_region(location)}-{cluster_name}"[:_DCR_MAX]


def data_collection_endpoint_name(location: str, cluster_name: str) -> str:
    """MSCI-config-<cluster region>-<cluster>, cut to 43 characters and never ending in "-" (configDCE)."""
    return f"MSCI-config-{_region(location)}-{cluster_name}"[:_DCE_MAX].rstrip("-")

