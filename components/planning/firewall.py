"""Firewall egress through a hub, planned: the hub's layout and names, the peering flags and the rule collection
group the workspace needs in the hub's firewall policy. Pure, standard library only (the policy pack imports it).

The rule collection group table (`rule_collection_group`) is what `components/firewall.py` creates, what the policy
pack checks (`brickwall_rules.firewall`) and what the tests read: one table.

Sources:
- Databricks UDR / firewall: https://learn.microsoft.com/azure/databricks/security/network/classic/udr (service tags
  AzureDatabricks, Sql, Storage, EventHub; "If Azure Private Link is enabled on your workspace, the Azure Databricks
  service tag is not required"). Ports are those of the rules Databricks injects into the workspace NSG
  (components/planning/nsg_rules.py: Sql 3306, Storage 443, EventHub 9093, AzureDatabricks 443/3306/8443-8451).
- Regional Databricks assets (artifact, log and system-table storage, observability Event Hubs):
  https://learn.microsoft.com/azure/databricks/resources/ip-domain-region ("IP addresses and domains for Azure
  Databricks services and assets"), table `DATABRICKS_REGIONAL_ENDPOINTS` below. The Learn page's source is not
  public; the westeurope entry matches, host for host, two transcriptions of it kept by Microsoft and Databricks:
  microsoft/AzureTRE templates/workspace_services/databricks/terraform/databricks-udr.json (commit 9a989fb8,
  Dec 2025: artifact primary and secondary, log storage, Event Hubs, metastore) and
  databricks/terraform-databricks-examples examples/adb-exfiltration-protection/terraform.tfvars (commit b250b460,
  Jul 2025: the same hosts plus system tables storage `ucstprdwesteu.dfs.core.windows.net`). Re-check against the
  Learn page when adding a region.
- Default Hive metastore: both transcriptions list, per region, Azure Database for MySQL hosts on 3306 (westeurope:
  consolidated-westeurope-prod-metastore[-addl-1..3] and consolidated-westeuropec2-prod-metastore-0..3
  .mysql.database.azure.com). The rule collection reaches them by the regional Sql tag, which covers Azure Database
  for MySQL (https://learn.microsoft.com/azure/virtual-network/service-tags-overview), rather than by name: an
  application rule carries only HTTP(S) and MSSQL, and FQDNs in a network rule need the policy's DNS proxy
  ("You must enable DNS Proxy to use FQDNs in your network rules",
  https://learn.microsoft.com/azure/firewall/fqdn-filtering-network-rules), which this toolkit does not enable.
- AKS egress: https://learn.microsoft.com/azure/aks/outbound-rules-control-egress ("Outbound network and FQDN rules
  for AKS clusters", MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md) and the FQDN tag
  AzureKubernetesService (https://learn.microsoft.com/azure/aks/limit-egress-traffic).
- AzureFirewallSubnet: exact name, at least /26 (https://learn.microsoft.com/azure/firewall/firewall-faq "Why does
  Azure Firewall need a /26 subnet size?").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

# Azure keys off this exact subnet name; the subnet must be /26 or larger (firewall FAQ, see above).
FIREWALL_SUBNET_NAME = "AzureFirewallSubnet"
MAX_FIREWALL_SUBNET_PREFIX = 26

# ARM resource ids the hub is named by.
_RG = r"/subscriptions/(?P<subscription>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})" \
      r"/resourceGroups/(?P<resource_group>[-\w._()]+)"
ARM_VIRTUAL_NETWORK = re.compile(_RG + r"/providers/Microsoft\.Network/virtualNetworks/(?P<name>[-\w._]+)", re.I)
ARM_FIREWALL_POLICY = re.compile(_RG + r"/providers/Microsoft\.Network/firewallPolicies/(?P<name>[-\w._]+)", re.I)


@dataclass(frozen=True)
class ArmRef:
    """The parts of an ARM resource id a child resource or a provider needs."""

    subscription_id: str
    resource_group: str
    name: str


def parse_arm_id(arm_id: str, pattern: re.Pattern[str]) -> ArmRef:
    """The subscription, resource group and name of `arm_id`; ValueError when it is not of `pattern`'s type."""
    match = pattern.fullmatch(arm_id)
    if match is None:
        raise ValueError(f"not a resource id of the expected type: {arm_id!r}")
    return ArmRef(match["subscription"], match["resource_group"], match["name"])


# --- Peering -------------------------------------------------------------------------------------------------

# Both directions of a hub-spoke peering through a firewall. Traffic the firewall forwards (replies from the Internet
# to a cluster node, after SNAT) did not originate in the hub VNet, and a peering drops forwarded traffic unless
# allowForwardedTraffic is set ("Whether the forwarded traffic from the VMs in the local virtual network will be
# allowed/disallowed in remote virtual network", VirtualNetworkPeeringPropertiesFormat, Microsoft.Network 2024-05-01;
# https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-peering): set on both sides, as in the
# hub-spoke reference topology (https://learn.microsoft.com/azure/architecture/networking/architecture/hub-spoke).
# No gateway transit: the toolkit knows of no gateway in the hub (useRemoteGateways needs one, or Azure refuses).
PEERING_FLAGS: dict[str, bool] = {
    "allowVirtualNetworkAccess": True,
    "allowForwardedTraffic": True,
    "allowGatewayTransit": False,
    "useRemoteGateways": False,
}


# --- The hub the toolkit creates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubNames:
    resource_group: str
    virtual_network: str
    firewall: str
    firewall_public_ip: str
    firewall_policy: str
    rule_collection_group: str
    spoke_to_hub_peering: str
    hub_to_spoke_peering: str


def hub_names(resource_group: str, virtual_network: str, environment: str) -> HubNames:
    """Names beside the workspace's own (`rg-<base>` -> `rg-<base>-hub`, ...). The rule collection group and the
    hub-side peering are named after the environment, so several environments can share one existing hub."""
    base = resource_group.removeprefix("rg-")
    return HubNames(
        resource_group=f"rg-{base}-hub",
        virtual_network=f"vnet-{base}-hub",
        firewall=f"afw-{base}",
        firewall_public_ip=f"pip-{base}-afw",
        firewall_policy=f"afwp-{base}",
        rule_collection_group=f"rcg-databricks-{environment}",
        spoke_to_hub_peering="peer-to-hub",
        hub_to_spoke_peering=f"peer-to-{virtual_network}",
    )


def firewall_subnet(address_space: str, prefix_length: int = MAX_FIREWALL_SUBNET_PREFIX) -> str:
    """AzureFirewallSubnet in a hub the toolkit creates: the first block of its size."""
    return str(next(ipaddress.IPv4Network(address_space).subnets(new_prefix=prefix_length)))


# --- Regional Databricks endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionalEndpoints:
    """What https://learn.microsoft.com/azure/databricks/resources/ip-domain-region lists for one region."""

    service_tag_region: str  # the suffix of regional service tags: Storage.<this>
    artifact_storage: tuple[str, ...]  # artifact Blob storage, primary then secondary (can be another region)
    log_storage: tuple[str, ...]
    system_tables_storage: tuple[str, ...]
    event_hubs: tuple[str, ...]  # observability Event Hubs (Kafka, 9093)


# Only the regions the toolkit has transcribed; firewall mode in another region is a spec error naming this table.
DATABRICKS_REGIONAL_ENDPOINTS: dict[str, RegionalEndpoints] = {
    "westeurope": RegionalEndpoints(
        service_tag_region="WestEurope",
        artifact_storage=(
            "dbartifactsprodwesteu.blob.core.windows.net",
            *(f"arprodwesteua{i}.blob.core.windows.net" for i in range(1, 25)),
            "dbartifactsprodnortheu.blob.core.windows.net",
        ),
        log_storage=("dblogprodwesteurope.blob.core.windows.net",),
        system_tables_storage=("ucstprdwesteu.dfs.core.windows.net",),
        event_hubs=("prod-westeurope-observabilityeventhubs.servicebus.windows.net",
                    "prod-westeuc2-observabilityeventhubs.servicebus.windows.net"),
    ),
}


# --- The rule collection group -----------------------------------------------------------------------------------

Protocol = Literal["TCP", "UDP", "Any"]


@dataclass(frozen=True)
class NetworkRule:
    name: str
    protocols: tuple[Protocol, ...]
    sources: tuple[str, ...]
    destinations: tuple[str, ...]  # service tags or address prefixes
    ports: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class ApplicationRule:
    name: str
    sources: tuple[str, ...]
    protocols: tuple[tuple[Literal["Http", "Https"], int], ...]
    description: str
    target_fqdns: tuple[str, ...] = ()
    fqdn_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleCollection:
    name: str
    priority: int
    kind: Literal["network", "application"]
    rules: tuple[NetworkRule | ApplicationRule, ...]


@dataclass(frozen=True)
class RuleCollectionGroup:
    name: str
    priority: int
    collections: tuple[RuleCollection, ...]

    def collection(self, name: str) -> RuleCollection:
        return next(c for c in self.collections if c.name == name)


DATABRICKS_NETWORK, DATABRICKS_APPLICATION = "databricks-network", "databricks-application"
AKS_NETWORK, AKS_APPLICATION = "aks-network", "aks-application"
# Service tags (without region) the Databricks network collection must always reach through the firewall; the policy
# pack checks these are present.
REQUIRED_DATABRICKS_TAGS: dict[str, tuple[str, ...]] = {"Storage": ("443",), "Sql": ("3306",), "EventHub": ("9093",)}
_HTTPS: tuple[tuple[Literal["Http", "Https"], int], ...] = (("Https", 443),)


def rule_collection_group(
    name: str,
    region: str,
    workspace_sources: tuple[str, ...],
    *,
    backend_private_link: bool,
    allow_internet_outbound: bool = False,
    aks_source: str | None = None,
    aks_private_api_server: bool = True,
    priority: int = 300,
) -> RuleCollectionGroup:
    """Allow rules for the workspace subnets (and the AKS subnet when its egress goes through the firewall).

    KeyError when `region` has no entry in DATABRICKS_REGIONAL_ENDPOINTS (the spec rejects that first)."""
    ep = DATABRICKS_REGIONAL_ENDPOINTS[region]
    tag = ep.service_tag_region
    src = tuple(workspace_sources)
    network_rules: list[NetworkRule | ApplicationRule] = [
        NetworkRule("databricks-metastore", ("TCP",), src, (f"Sql.{tag}",), ("3306",),
                    "Default Hive metastore (Azure SQL service tag, regional)."),
        NetworkRule("databricks-storage", ("TCP",), src, (f"Storage.{tag}",), ("443",),
                    "Artifact and log Blob storage, workspace storage (Azure Storage service tag, regional)."),
        NetworkRule("databricks-eventhub", ("TCP",), src, (f"EventHub.{tag}",), ("9093",),
                    "Logging to Azure Event Hubs (Kafka protocol, regional service tag)."),
    ]
    network_rules += [
        # "You can choose to add the Microsoft Entra ID service tag to facilitate Microsoft Entra ID authentication from
        # Azure Databricks clusters to Azure resources" (UDR page); the workspace NSG opens the same two tags when
        # outbound Internet is denied (nsg_rules.workspace_subnet_rules), so the firewall does not close them again.
        NetworkRule("databricks-entra-id", ("TCP",), src, ("AzureActiveDirectory",), ("443",),
                    "Token exchange with Entra ID from the clusters."),
        NetworkRule("databricks-front-door", ("TCP",), src, ("AzureFrontDoor.Frontend",), ("443",),
                    "Databricks web assets served through Front Door (as the workspace NSG allows)."),
    ]
    if not backend_private_link:
        network_rules.append(NetworkRule(
            "databricks-control-plane", ("TCP",), src, ("AzureDatabricks",), ("443", "3306", "8443-8451"),
            "Control plane, SCC relay and web application (not needed with back-end Private Link)."))
    application_rules: list[NetworkRule | ApplicationRule] = [
        ApplicationRule("databricks-artifact-storage", src, _HTTPS, "Runtime images and libraries (artifact Blob "
                        "storage; the secondary can sit in another region, outside the regional Storage tag).",
                        target_fqdns=ep.artifact_storage),
        ApplicationRule("databricks-log-storage", src, _HTTPS, "Cluster and audit logs (log Blob storage).",
                        target_fqdns=ep.log_storage),
        ApplicationRule("databricks-system-tables", src, _HTTPS, "System tables storage.",
                        target_fqdns=ep.system_tables_storage),
    ]
    if allow_internet_outbound:
        # The spec allows clusters outbound Internet (library installs): HTTP(S) to any host, through the firewall.
        application_rules.append(ApplicationRule("internet-http-https", src, (("Http", 80), ("Https", 443)),
                                                 "network.egress.allow_internet_outbound: HTTP(S) to any host.",
                                                 target_fqdns=("*",)))
    collections = [
        RuleCollection(DATABRICKS_NETWORK, 100, "network", tuple(network_rules)),
        RuleCollection(DATABRICKS_APPLICATION, 200, "application", tuple(application_rules)),
    ]
    if aks_source is not None:
        collections += _aks_collections(aks_source, region, tag, aks_private_api_server)
    return RuleCollectionGroup(name, priority, tuple(collections))


def _aks_collections(source: str, region: str, tag: str, private_api_server: bool) -> list[RuleCollection]:
    """AKS nodes behind the firewall (outboundType userDefinedRouting): the documented required rules, plus Azure
    Monitor for containers (the cluster runs Container Insights)."""
    src = (source,)
    network_rules: list[NetworkRule | ApplicationRule] = [
        NetworkRule("aks-ntp", ("UDP",), src, ("*",), ("123",), "NTP time synchronisation on Linux nodes."),
        NetworkRule("aks-azure-monitor", ("TCP",), src, ("AzureMonitor",), ("443",),
                    "Azure Monitor for containers: metrics and logs."),
    ]
    if not private_api_server:
        # Not required for private clusters (outbound-rules-control-egress, "Azure Global required network rules").
        network_rules += [
            NetworkRule("aks-tunnel-udp", ("UDP",), src, (f"AzureCloud.{tag}",), ("1194",),
                        "Tunnelled node to control plane traffic."),
            NetworkRule("aks-tunnel-tcp", ("TCP",), src, (f"AzureCloud.{tag}",), ("9000",),
                        "Tunnelled node to control plane traffic."),
        ]
    application_rules: list[NetworkRule | ApplicationRule] = [
        ApplicationRule("aks-fqdn-tag", src, (("Http", 80), ("Https", 443)),
                        "The AzureKubernetesService FQDN tag: MCR, management.azure.com, login.microsoftonline.com, "
                        "packages.microsoft.com, acs-mirror.azureedge.net and the API server.",
                        fqdn_tags=("AzureKubernetesService",)),
        ApplicationRule("aks-container-insights", src, _HTTPS, "Azure Monitor for containers (Container Insights).",
                        target_fqdns=("dc.services.visualstudio.com", "*.ods.opinsights.azure.com",
                                      "*.oms.opinsights.azure.com", "*.monitoring.azure.com",
                                      f"{region}.ingest.monitor.azure.com",
                                      f"{region}.handler.control.monitor.azure.com")),
    ]
    return [
        RuleCollection(AKS_NETWORK, 300, "network", tuple(network_rules)),
        RuleCollection(AKS_APPLICATION, 400, "application", tuple(application_rules)),
    ]
