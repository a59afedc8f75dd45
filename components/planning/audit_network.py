"""Where the audit data paths are private: the Azure Monitor Private Link Scope's endpoint and DNS zones, the SIEM
Event Hub's endpoint, and what the flow-log storage account and the Event Hub namespace let through. Dependency-free:
the component creates from these tables and the policy pack checks against them.

Sources:
- AMPLS: one private endpoint on the scope (sub-resource `azuremonitor`) and five private DNS zones,
  https://learn.microsoft.com/azure/azure-monitor/logs/private-link-configure#review-your-endpoints-dns-settings
  (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/private-link-configure.md); the sub-resource name:
  https://learn.microsoft.com/azure/private-link/private-endpoint-dns (MicrosoftDocs/azure-docs
  articles/private-link/private-endpoint-dns.md: "Azure Monitor (Microsoft.Insights/privateLinkScopes) | azuremonitor").
- AMPLS DNS is shared by every network that uses the same DNS: one scope per DNS, the zones linked to the networks
  that use it and no other (private-link-design.md, "Avoid DNS overrides by using a single AMPLS").
- Diagnostic settings reach a workspace over a Microsoft channel that the workspace's public-network flags do not
  control (private-link-design.md, "Control network access to AMPLS resources", exceptions).
- Event Hubs: sub-resource `namespace`, zone privatelink.servicebus.windows.net
  (MicrosoftDocs/azure-docs articles/event-hubs/private-link-service.md); with public network access Disabled the
  namespace can still let trusted Microsoft services in (same page, "Disable public access", Exception section).
- Log Analytics data export reaches an Event Hubs namespace behind its firewall only through that trusted-services
  exception (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-data-export.md, Event Hubs note).
- VNet flow logs write to a storage account behind its firewall only with public network access "Enabled from
  selected virtual networks and IP addresses" and the exception "Allow Azure services on the trusted services list"
  (MicrosoftDocs/azure-docs articles/network-watcher/frequently-asked-questions.yml, "How do I use flow logs with a
  storage account behind a firewall?"; the trusted list names Microsoft.Network for "network traffic logs, including
  through the Azure Network Watcher": articles/storage/common/storage-network-security-trusted-azure-services.md).
  Exceptions are set under "Enabled from selected networks" (storage-network-security-manage-exceptions.md, step 3),
  so the account keeps public network access Enabled with a default-deny firewall, no IP or VNet rule and only the
  AzureServices bypass: nothing but trusted services passes its public endpoint.
"""

from __future__ import annotations

from typing import Final

# Azure Monitor Private Link Scope.
AMPLS_GROUP: Final = "azuremonitor"
# (zone, DNS zone group config name): the five zones the scope's endpoint writes into, in the documented order.
AMPLS_ZONES: Final[tuple[tuple[str, str], ...]] = (
    ("privatelink.monitor.azure.com", "privatelink-monitor-azure-com"),
    ("privatelink.oms.opinsights.azure.com", "privatelink-oms-opinsights-azure-com"),
    ("privatelink.ods.opinsights.azure.com", "privatelink-ods-opinsights-azure-com"),
    ("privatelink.agentsvc.azure-automation.net", "privatelink-agentsvc-azure-automation-net"),
    # The agents' solution-pack storage account; the same zone name as the storage accounts' blob endpoints.
    ("privatelink.blob.core.windows.net", "privatelink-blob-core-windows-net"),
)
AMPLS_BLOB_ZONE: Final = "privatelink.blob.core.windows.net"
# An AMPLS is a global resource (its ARM location is "global").
AMPLS_LOCATION: Final = "global"

# The SIEM export's Event Hubs namespace.
EVENT_HUB_GROUP: Final = "namespace"
EVENT_HUB_ZONE: Final = "privatelink.servicebus.windows.net"

# The storage firewall exception that lets Network Watcher (Microsoft.Network) write flow logs.
TRUSTED_SERVICES_BYPASS: Final = "AzureServices"


def workspace_network_flags(*, public_ingestion: bool, public_query: bool) -> dict[str, str]:
    """A Log Analytics workspace's publicNetworkAccessForIngestion/ForQuery for the spec's two flags."""
    return {
        "publicNetworkAccessForIngestion": "Enabled" if public_ingestion else "Disabled",
        "publicNetworkAccessForQuery": "Enabled" if public_query else "Disabled",
    }
