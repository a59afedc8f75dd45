"""The catalog of the Azure (azure-native) resource types the program creates: one entry per type token.

Every reader takes its per-type facts from here: the engine's mocks (the ARM id a resource gets), the exporter (the
ARM type, API version, name and request body it writes), the renderer (the input naming a resource), the diff (what
forces a replacement, what loses data) and the policy pack (type tokens, which types take tags). A new azure-native
type is one `_define(...)` below, with the citation of each fact beside it; tests/test_azure_types.py fails for a
registered type without an entry, and tests/test_export.py, tests/test_arm_schemas.py and tests/test_diff.py hold the
entries against the SDK and Azure's own ARM schemas.

Dependency-free on purpose: the CrossGuard pack (policies/) imports this module under the Pulumi CLI with only
policies/requirements.txt installed, so nothing here (or in the package __init__ files above it) may import
pydantic, pulumi or any other brickwall module.

How the request body is shaped: azure-native keeps, for every REST property, the containers it sits in and the SDK
name it goes by, and rebuilds the body from the flat SDK inputs with them
(pulumi/pulumi-azure-native provider/pkg/convert/sdkInputsToRequestBody.go: `buildContainer(result, prop.Containers)`,
`prop.SdkName`, `IsStringSet`). The SDK flattens every `properties` object the API spec marks `x-ms-client-flatten`;
an entry records where that happened below the resource itself (`nested`), the SDK renames (`renames`) and the few
inputs that break the general rules (`envelope`, `body_inputs`, `wrapped_properties`, `has_properties`).

API versions: each is the default API version of the pinned azure-native SDK's module for the type (its docstring:
"Uses Azure REST API version ..."; pulumi-azure-native 3.29.0); tests/test_export.py checks every one against the
installed SDK and tests/test_arm_schemas.py that Azure's schema for it is vendored (tests/arm_schemas/).

Force-new properties (`force_new`, dotted wire paths, "*" for one segment, path -> reason): the URL path parameters of
a resource (resource group, parent and own names) form its ARM id, so azure-native replaces on any change to them;
body properties update in place unless the service refuses (the entries that say so). brickwall/diff.py adds its
generic rules (location and name inputs of every azure-native type) to these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Final, ParamSpec

RESOURCE_GROUP_ID: Final = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
# The envelope fields of an ARM resource beside `properties` (not every type's `sku` is one: see the entries).
DEFAULT_ENVELOPE: Final = ("location", "tags", "sku", "identity", "kind", "zones", "extendedLocation", "plan")


@dataclass(frozen=True)
class Fixed:
    """A constant segment of an ARM name ("default" between a storage account and its containers)."""

    segment: str


@dataclass(frozen=True)
class AzureType:
    """What the program knows of one azure-native resource type.

    `name_inputs` are the wire inputs naming the resource, parent first: the ARM name joins them with "/", one segment
    per level of `arm_type` ("vnet/subnet" for Microsoft.Network/virtualNetworks/subnets); the last one falls back to
    the logical name, as the mocks do. A `Fixed` segment is a name Azure fixes and the SDK takes no input for.
    """

    token: str
    arm_type: str
    api_version: str
    name_inputs: tuple[str | Fixed, ...]
    # azure-native takes the whole ARM `properties` body as one `properties` input (Key Vault vaults and keys).
    wrapped_properties: bool = False
    # SDK input paths ("a.b" into objects, "a[]" into each item of a list) of sub-objects whose REST form keeps its
    # fields under its own `properties` (the SDK flattened them): everything but their id, name, etag and type moves there.
    nested: tuple[str, ...] = ()
    # (SDK path, REST path) pairs over the body once nested, for properties the SDK renamed (x-ms-client-name) or
    # lifted out of a flattened sub-object.
    renames: tuple[tuple[str, str], ...] = ()
    # Inputs that are resource envelope fields, beside `properties`.
    envelope: tuple[str, ...] = DEFAULT_ENVELOPE
    # Inputs named like the resource's own address fields that are body properties (a VM extension's handler `type`).
    body_inputs: tuple[str, ...] = ()
    # An extension resource (its id hangs off the resource it applies to): the input naming that resource (`scope`,
    # or `resourceUri` for diagnostic settings). None for a resource in a resource group.
    scope_input: str | None = None
    # False for a type whose REST body has no `properties` at all (a user-assigned identity); every other type
    # writes its `properties`, empty or not, as its ARM schema requires.
    has_properties: bool = True
    # Wire input path -> why changing it replaces the resource (see the module docstring).
    force_new: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Why deleting or replacing it loses data; None for a type that holds none.
    data_bearing: str | None = None
    # False for a type that takes no tags (children and extension resources): the SDK has no `tags` input for it and
    # its ARM schema none (a node pool's `tags`, the tags of its nodes, sit in its properties but count).
    taggable: bool = True

    @property
    def own_name_input(self) -> str | None:
        """The input holding the resource's own name; None when Azure fixes it (a `Fixed` last segment)."""
        own = self.name_inputs[-1]
        return own if isinstance(own, str) else None

    @cached_property
    def id_template(self) -> str:
        """The ARM id over wire-named inputs (`{subscriptionId}` aside): `/subscriptions/.../resourceGroups/...`, or
        for an extension resource the id of the resource it applies to, then `/providers/<namespace>/<type>/<name>...`.
        A resource group itself lives in the subscription (no provider segment)."""
        if self.arm_type == "Microsoft.Resources/resourceGroups":
            return RESOURCE_GROUP_ID
        namespace, *levels = self.arm_type.split("/")
        segments = [namespace]
        for level, name in zip(levels, self.name_inputs, strict=True):
            segments += [level, name.segment if isinstance(name, Fixed) else "{" + name + "}"]
        base = "{" + self.scope_input + "}" if self.scope_input else RESOURCE_GROUP_ID
        return f"{base}/providers/{'/'.join(segments)}"

    def __post_init__(self) -> None:
        object.__setattr__(self, "force_new", MappingProxyType(dict(self.force_new)))
        levels = 1 if self.arm_type == "Microsoft.Resources/resourceGroups" else len(self.arm_type.split("/")) - 1
        if len(self.name_inputs) != levels:
            raise ValueError(f"{self.token}: {len(self.name_inputs)} name inputs for the {levels} levels of {self.arm_type}")


_ENTRIES: list[AzureType] = []
_P = ParamSpec("_P")


def _registered(make: Callable[_P, AzureType]) -> Callable[_P, AzureType]:
    def define(*args: _P.args, **kwargs: _P.kwargs) -> AzureType:
        entry = make(*args, **kwargs)
        if any(e.token == entry.token for e in _ENTRIES):
            raise ValueError(f"{entry.token} is defined twice in the Azure type catalog")
        _ENTRIES.append(entry)
        return entry

    return define


# Each entry is defined once, in the order below (CATALOG and ENTRIES keep it).
_define = _registered(AzureType)

# Why a changed resource group or region replaces any azure-native resource (brickwall/diff.py applies them to every
# type), and reasons shared by many entries.
RESOURCE_GROUP_CHANGE: Final = "the resource group is part of the Azure resource id: a new resource is created"
LOCATION_CHANGE: Final = "Azure resources cannot move region: a new resource is created"
_RG = RESOURCE_GROUP_CHANGE
_LOC = LOCATION_CHANGE
_ID = "the name is the resource id"
_NET = "Microsoft.Network"
_SUBNET_REFS = ("networkSecurityGroup", "routeTable", "natGateway")

# --- resource group and network --------------------------------------------------------------------------------

RESOURCE_GROUP: Final = _define(
    "azure-native:resources:ResourceGroup", "Microsoft.Resources/resourceGroups", "2024-03-01", ("resourceGroupName",),
    force_new={"location": "a resource group cannot move region", "resourceGroupName": _ID},
)
VIRTUAL_NETWORK: Final = _define(
    "azure-native:network:VirtualNetwork", f"{_NET}/virtualNetworks", "2024-05-01", ("virtualNetworkName",),
    nested=("subnets[]", "subnets[].delegations[]", "virtualNetworkPeerings[]"),
    force_new={"location": _LOC, "virtualNetworkName": _ID, "resourceGroupName": _RG},
)
SUBNET: Final = _define(
    "azure-native:network:Subnet", f"{_NET}/virtualNetworks/subnets", "2024-05-01", ("virtualNetworkName", "subnetName"),
    nested=("delegations[]", *_SUBNET_REFS),
    force_new={
        "virtualNetworkName": "a subnet cannot move to another VNet",
        "subnetName": _ID,
        "resourceGroupName": _RG,
        # addressPrefix: only for a delegated subnet (brickwall/diff.py, _conditional_force_new)
    },
    taggable=False,
)
# A peering cannot be re-pointed at another VNet (remote_virtual_network_id is ForceNew in terraform-provider-azurerm's
# azurerm_virtual_network_peering, hashicorp/terraform-provider-azurerm#10312); its parent VNet and name are its id.
VIRTUAL_NETWORK_PEERING: Final = _define(
    "azure-native:network:VirtualNetworkPeering", f"{_NET}/virtualNetworks/virtualNetworkPeerings", "2024-05-01",
    ("virtualNetworkName", "virtualNetworkPeeringName"),
    force_new={
        "remoteVirtualNetwork.id": "a peering cannot be re-pointed at another VNet: it is deleted and recreated",
        "virtualNetworkName": "a peering belongs to one VNet",
        "virtualNetworkPeeringName": _ID,
        "resourceGroupName": _RG,
    },
    taggable=False,
)
NETWORK_SECURITY_GROUP: Final = _define(
    "azure-native:network:NetworkSecurityGroup", f"{_NET}/networkSecurityGroups", "2024-05-01", ("networkSecurityGroupName",),
    nested=("securityRules[]",),
    force_new={"location": _LOC, "networkSecurityGroupName": _ID, "resourceGroupName": _RG},
)
APPLICATION_SECURITY_GROUP: Final = _define(
    "azure-native:network:ApplicationSecurityGroup", f"{_NET}/applicationSecurityGroups", "2024-05-01",
    ("applicationSecurityGroupName",),
)
SECURITY_RULE: Final = _define(
    "azure-native:network:SecurityRule", f"{_NET}/networkSecurityGroups/securityRules", "2024-05-01",
    ("networkSecurityGroupName", "securityRuleName"),
    nested=("sourceApplicationSecurityGroups[]", "destinationApplicationSecurityGroups[]"),
    force_new={"networkSecurityGroupName": "a rule belongs to one NSG", "securityRuleName": _ID},
    taggable=False,
)
NAT_GATEWAY: Final = _define("azure-native:network:NatGateway", f"{_NET}/natGateways", "2024-05-01", ("natGatewayName",))
PUBLIC_IP_ADDRESS: Final = _define(
    "azure-native:network:PublicIPAddress", f"{_NET}/publicIPAddresses", "2024-05-01", ("publicIpAddressName",)
)
ROUTE_TABLE: Final = _define(
    "azure-native:network:RouteTable", f"{_NET}/routeTables", "2024-05-01", ("routeTableName",), nested=("routes[]",),
    force_new={"location": _LOC, "routeTableName": _ID},
)
ROUTE: Final = _define(
    "azure-native:network:Route", f"{_NET}/routeTables/routes", "2024-05-01", ("routeTableName", "routeName"),
    force_new={"routeTableName": "a route belongs to one table", "routeName": _ID},
    taggable=False,
)
# A firewall's and a firewall policy's `sku` are properties (AzureFirewallPropertiesFormat, FirewallPolicyPropertiesFormat).
AZURE_FIREWALL: Final = _define(
    "azure-native:network:AzureFirewall", f"{_NET}/azureFirewalls", "2024-05-01", ("azureFirewallName",),
    nested=("ipConfigurations[]", "managementIpConfiguration"), envelope=("location", "tags", "zones"),
    force_new={"location": _LOC, "azureFirewallName": _ID, "resourceGroupName": _RG},
)
FIREWALL_POLICY: Final = _define(
    "azure-native:network:FirewallPolicy", f"{_NET}/firewallPolicies", "2024-05-01", ("firewallPolicyName",),
    envelope=("location", "tags", "identity"),
    force_new={"location": _LOC, "firewallPolicyName": _ID, "resourceGroupName": _RG},
)
# A firewall policy's rule collection group is a child without tags in ARM.
FIREWALL_POLICY_RULE_COLLECTION_GROUP: Final = _define(
    "azure-native:network:FirewallPolicyRuleCollectionGroup", f"{_NET}/firewallPolicies/ruleCollectionGroups", "2024-05-01",
    ("firewallPolicyName", "ruleCollectionGroupName"),
    force_new={
        "firewallPolicyName": "a rule collection group belongs to one firewall policy",
        "ruleCollectionGroupName": _ID,
        "resourceGroupName": _RG,
    },
    taggable=False,
)
FLOW_LOG: Final = _define(
    "azure-native:network:FlowLog", f"{_NET}/networkWatchers/flowLogs", "2024-05-01", ("networkWatcherName", "flowLogName")
)

# --- Private Link and DNS --------------------------------------------------------------------------------------

PRIVATE_ENDPOINT: Final = _define(
    "azure-native:network:PrivateEndpoint", f"{_NET}/privateEndpoints", "2024-05-01", ("privateEndpointName",),
    nested=("privateLinkServiceConnections[]", "manualPrivateLinkServiceConnections[]", "ipConfigurations[]",
            "subnet", "applicationSecurityGroups[]"),
    force_new={
        "subnet.id": "a private endpoint's NIC cannot move to another subnet",
        "privateLinkServiceConnections.*.privateLinkServiceId": "the connection target is fixed at creation",
        "privateLinkServiceConnections.*.groupIds": "the sub-resource (group id) is fixed at creation",
        "manualPrivateLinkServiceConnections.*.privateLinkServiceId": "the connection target is fixed at creation",
        "manualPrivateLinkServiceConnections.*.groupIds": "the sub-resource (group id) is fixed at creation",
        "customNetworkInterfaceName": "the NIC name is fixed at creation",
        "location": _LOC,
        "privateEndpointName": _ID,
        "resourceGroupName": _RG,
    },
)
PRIVATE_DNS_ZONE_GROUP: Final = _define(
    "azure-native:network:PrivateDnsZoneGroup", f"{_NET}/privateEndpoints/privateDnsZoneGroups", "2024-05-01",
    ("privateEndpointName", "privateDnsZoneGroupName"),
    nested=("privateDnsZoneConfigs[]",),
    force_new={"privateEndpointName": "a zone group belongs to one private endpoint", "privateDnsZoneGroupName": _ID},
    taggable=False,
)
PRIVATE_DNS_ZONE: Final = _define(
    "azure-native:privatedns:PrivateZone", f"{_NET}/privateDnsZones", "2024-06-01", ("privateZoneName",),
    force_new={"privateZoneName": "the zone name is the resource id", "resourceGroupName": _RG},
)
PRIVATE_DNS_ZONE_LINK: Final = _define(
    "azure-native:privatedns:VirtualNetworkLink", f"{_NET}/privateDnsZones/virtualNetworkLinks", "2024-06-01",
    ("privateZoneName", "virtualNetworkLinkName"),
    force_new={
        "virtualNetwork.id": "a link cannot be pointed at another VNet",
        "privateZoneName": "a link belongs to one zone",
        "virtualNetworkLinkName": _ID,
    },
)

# --- Databricks ------------------------------------------------------------------------------------------------

# The workspace's `parameters.encryption.value` is an `Encryption` whose REST names are KeyName, keyversion and
# keyvaulturi (Databricks API spec; the SDK calls them keyName, keyVersion, keyVaultUri).
DATABRICKS_WORKSPACE: Final = _define(
    "azure-native:databricks:Workspace", "Microsoft.Databricks/workspaces", "2026-01-01", ("workspaceName",),
    renames=tuple(
        (f"properties.parameters.encryption.value.{sdk}", f"properties.parameters.encryption.value.{rest}")
        for sdk, rest in (("keyName", "KeyName"), ("keyVersion", "keyversion"), ("keyVaultUri", "keyvaulturi"))
    ),
    force_new={
        "location": "a workspace cannot move region",
        "workspaceName": _ID,
        "resourceGroupName": _RG,
        "managedResourceGroupId": "the managed resource group is fixed at creation",
        "computeMode": "classic vs serverless compute is fixed at creation",
        "parameters.customVirtualNetworkId.value": "VirtualNetworkIdChangeNotAllowed: a workspace cannot move VNet",
        "parameters.customPublicSubnetName.value": "the host subnet is fixed at creation (network update needs a newer API)",
        "parameters.customPrivateSubnetName.value": "the container subnet is fixed at creation (network update needs a newer API)",
        "parameters.storageAccountName.value": "the workspace (DBFS) storage account is created with the workspace",
        "parameters.storageAccountSkuName.value": "the workspace storage account SKU is fixed at creation",
        # Not parameters.enableNoPublicIp: the workspace update API takes it (Update-AzDatabricksWorkspace -EnableNoPublicIP,
        # learn.microsoft.com/powershell/module/az.databricks/update-azdatabricksworkspace), so it updates in place.
        "parameters.requireInfrastructureEncryption.value": "infrastructure encryption is fixed at creation",
    },
    data_bearing="notebooks, jobs, DBFS root and the managed resource group go with it",
)
ACCESS_CONNECTOR: Final = _define(
    "azure-native:databricks:AccessConnector", "Microsoft.Databricks/accessConnectors", "2026-01-01", ("connectorName",),
    force_new={"location": _LOC, "connectorName": _ID, "resourceGroupName": _RG},
)

# --- AKS (components/aks.py) -----------------------------------------------------------------------------------

MANAGED_CLUSTER: Final = _define(
    "azure-native:containerservice:ManagedCluster", "Microsoft.ContainerService/managedClusters", "2025-09-01",
    ("resourceName",),
    force_new={
        "location": "a cluster cannot move region",
        "resourceName": _ID,
        "resourceGroupName": _RG,
        "dnsPrefix": "the API server FQDN is fixed at creation",
        "networkProfile": "network plugin, CIDRs and DNS service IP are fixed at creation",
        "agentPoolProfiles.*.vnetSubnetID": "a node pool cannot move subnet",
        "agentPoolProfiles.*.name": "a node pool cannot be renamed",
        "apiServerAccessProfile.enablePrivateCluster": "a private cluster cannot be made public or back",
        "nodeResourceGroup": "the node resource group is fixed at creation",
    },
    data_bearing="every workload, volume and in-cluster state is lost",
)
# A node pool's `tags` are a property (the tags of its scale set), not an envelope field. Properties AKS fixes when a
# node pool is created (https://learn.microsoft.com/azure/aks/manage-node-pools: a pool's VM size, OS disk and subnet
# change only by creating a new pool).
AGENT_POOL: Final = _define(
    "azure-native:containerservice:AgentPool", "Microsoft.ContainerService/managedClusters/agentPools", "2025-09-01",
    ("resourceName", "agentPoolName"), envelope=(),
    force_new={
        "agentPoolName": _ID,
        "resourceName": "a node pool belongs to its cluster",
        "resourceGroupName": _RG,
        "vmSize": "a node pool's VM size is fixed: add a new pool and move the workloads",
        "osDiskType": "the OS disk type is fixed at pool creation",
        "osDiskSizeGB": "the OS disk size is fixed at pool creation",
        "enableEncryptionAtHost": "encryption at host is set at pool creation",
        "vnetSubnetID": "a node pool cannot move subnet",
        "maxPods": "max pods per node is fixed at pool creation",
    },
)

# --- keys, identities, access ----------------------------------------------------------------------------------

KEY_VAULT: Final = _define(
    "azure-native:keyvault:Vault", "Microsoft.KeyVault/vaults", "2024-11-01", ("vaultName",), wrapped_properties=True,
    data_bearing="keys, secrets and certificates (soft-delete aside) are lost",
)
KEY_VAULT_KEY: Final = _define(
    "azure-native:keyvault:Key", "Microsoft.KeyVault/vaults/keys", "2024-11-01", ("vaultName", "keyName"),
    wrapped_properties=True,
    force_new={
        "vaultName": "a key belongs to one vault: a new key (data encrypted with the old one needs it)",
        "properties.kty": "a key's type is fixed: a new key",
    },
    data_bearing="whatever the key encrypts (DBFS root, managed services, managed disks) becomes unreadable once it is purged",
)
# Extension resources: `scope` (the resource they apply to) is written at the top level, as ARM templates take it.
# Role assignments and locks have no update: their principal, role and scope are their identity. Neither takes tags.
ROLE_ASSIGNMENT: Final = _define(
    "azure-native:authorization:RoleAssignment", "Microsoft.Authorization/roleAssignments", "2022-04-01",
    ("roleAssignmentName",), scope_input="scope",
    force_new={
        "principalId": "a role assignment cannot be re-pointed: it is deleted and recreated",
        "roleDefinitionId": "a role assignment cannot change role: it is deleted and recreated",
        "scope": "a role assignment cannot move scope: it is deleted and recreated",
    },
    taggable=False,
)
MANAGEMENT_LOCK: Final = _define(
    "azure-native:authorization:ManagementLockByScope", "Microsoft.Authorization/locks", "2020-05-01", ("lockName",),
    scope_input="scope",
    force_new={"scope": "a lock cannot move: it is deleted and recreated"},
    taggable=False,
)
USER_ASSIGNED_IDENTITY: Final = _define(
    "azure-native:managedidentity:UserAssignedIdentity", "Microsoft.ManagedIdentity/userAssignedIdentities", "2023-01-31",
    ("resourceName",), has_properties=False,
)
# A managed identity's federated identity credential is a child without tags (its 2023-01-31 ARM schema lists no `tags`).
FEDERATED_IDENTITY_CREDENTIAL: Final = _define(
    "azure-native:managedidentity:FederatedIdentityCredential",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "2023-01-31",
    ("resourceName", "federatedIdentityCredentialResourceName"),
    taggable=False,
)

# --- data sources (components/data_sources.py) -----------------------------------------------------------------

# azure-native names two storage account properties after the SDK, not the REST body (networkAcls,
# supportsHttpsTrafficOnly in the API spec).
STORAGE_ACCOUNT: Final = _define(
    "azure-native:storage:StorageAccount", "Microsoft.Storage/storageAccounts", "2024-01-01", ("accountName",),
    renames=(("properties.networkRuleSet", "properties.networkAcls"),
             ("properties.enableHttpsTrafficOnly", "properties.supportsHttpsTrafficOnly")),
    force_new={
        "isHnsEnabled": "the hierarchical namespace is fixed at creation (enabling it later is a one-way migration, not a PUT)",
        "encryption.requireInfrastructureEncryption": "infrastructure encryption is fixed at creation",
    },
    data_bearing="all blobs, files and tables are lost",
)
# Storage sub-resources (blob service settings, containers) carry no tags in ARM.
BLOB_SERVICE_PROPERTIES: Final = _define(
    "azure-native:storage:BlobServiceProperties", "Microsoft.Storage/storageAccounts/blobServices", "2024-01-01",
    ("accountName", "blobServicesName"),
    taggable=False,
)
# A container hangs off the account's one blob service, "default" (the SDK's input skips that level).
BLOB_CONTAINER: Final = _define(
    "azure-native:storage:BlobContainer", "Microsoft.Storage/storageAccounts/blobServices/containers", "2024-01-01",
    ("accountName", Fixed("default"), "containerName"),
    force_new={"accountName": "a container belongs to one account"},
    data_bearing="every blob in the container is lost",
    taggable=False,
)
SQL_SERVER: Final = _define(
    "azure-native:sql:Server", "Microsoft.Sql/servers", "2023-08-01", ("serverName",),
    data_bearing="every database on the server goes with it",
)
SQL_DATABASE: Final = _define(
    "azure-native:sql:Database", "Microsoft.Sql/servers/databases", "2023-08-01", ("serverName", "databaseName"),
    force_new={"serverName": "a database belongs to one server"},
    data_bearing="the database's data is lost (point-in-time restore aside)",
)
# Azure SQL server settings (auditing, threat detection) carry no tags in ARM.
SQL_SERVER_AUDITING_POLICY: Final = _define(
    "azure-native:sql:ServerBlobAuditingPolicy", "Microsoft.Sql/servers/auditingSettings", "2023-08-01",
    ("serverName", "blobAuditingPolicyName"),
    taggable=False,
)
SQL_SERVER_SECURITY_ALERT_POLICY: Final = _define(
    "azure-native:sql:ServerSecurityAlertPolicy", "Microsoft.Sql/servers/securityAlertPolicies", "2023-08-01",
    ("serverName", "securityAlertPolicyName"),
    taggable=False,
)

# --- audit (components/audit.py) -------------------------------------------------------------------------------

# A Log Analytics workspace's `sku` is one of its properties, not the envelope's.
LOG_ANALYTICS_WORKSPACE: Final = _define(
    "azure-native:operationalinsights:Workspace", "Microsoft.OperationalInsights/workspaces", "2023-09-01",
    ("workspaceName",), envelope=("location", "tags", "identity", "etag"),
    force_new={"location": "a Log Analytics workspace cannot move region", "workspaceName": _ID, "resourceGroupName": _RG},
    data_bearing="collected logs and audit history are lost",
)
# The SDK flattens the export's `destination` and its `metaData` (x-ms-client-flatten in the API spec). A data export
# rule is a child that takes no tags.
LOG_ANALYTICS_DATA_EXPORT: Final = _define(
    "azure-native:operationalinsights:DataExport", "Microsoft.OperationalInsights/workspaces/dataExports", "2023-09-01",
    ("workspaceName", "dataExportName"),
    renames=(("properties.resourceId", "properties.destination.resourceId"),
             ("properties.eventHubName", "properties.destination.metaData.eventHubName")),
    taggable=False,
)
# A diagnostic setting is an extension resource of the resource it reads (no tags).
DIAGNOSTIC_SETTING: Final = _define(
    "azure-native:monitor:DiagnosticSetting", "Microsoft.Insights/diagnosticSettings", "2021-05-01-preview", ("name",),
    scope_input="resourceUri",
    force_new={"resourceUri": "a diagnostic setting belongs to one resource"},
    taggable=False,
)
ACTION_GROUP: Final = _define(
    "azure-native:monitor:ActionGroup", "Microsoft.Insights/actionGroups", "2024-10-01-preview", ("actionGroupName",)
)
SCHEDULED_QUERY_RULE: Final = _define(
    "azure-native:monitor:ScheduledQueryRule", "Microsoft.Insights/scheduledQueryRules", "2025-01-01-preview", ("ruleName",)
)
EVENT_HUB_NAMESPACE: Final = _define(
    "azure-native:eventhub:Namespace", "Microsoft.EventHub/namespaces", "2024-01-01", ("namespaceName",)
)
EVENT_HUB: Final = _define(
    "azure-native:eventhub:EventHub", "Microsoft.EventHub/namespaces/eventhubs", "2024-01-01", ("namespaceName", "eventHubName"),
    taggable=False,
)
# A namespace has one network rule set, named "default" (the schema's name pattern); the SDK takes no name for it. A
# child without tags (its ARM schema lists no `tags`).
EVENT_HUB_NETWORK_RULE_SET: Final = _define(
    "azure-native:eventhub:NamespaceNetworkRuleSet", "Microsoft.EventHub/namespaces/networkRuleSets", "2024-01-01",
    ("namespaceName", Fixed("default")),
    taggable=False,
)
MONITOR_PRIVATE_LINK_SCOPE: Final = _define(
    "azure-native:monitor:PrivateLinkScope", "Microsoft.Insights/privateLinkScopes", "2023-06-01-preview", ("scopeName",)
)
# A private link scope's scoped resource is a child without tags (its ARM schema lists no `tags`).
MONITOR_PRIVATE_LINK_SCOPED_RESOURCE: Final = _define(
    "azure-native:monitor:PrivateLinkScopedResource", "Microsoft.Insights/privateLinkScopes/scopedResources",
    "2023-06-01-preview", ("scopeName", "name"),
    taggable=False,
)

# --- Container Insights (components/aks.py) --------------------------------------------------------------------

DATA_COLLECTION_RULE: Final = _define(
    "azure-native:monitor:DataCollectionRule", "Microsoft.Insights/dataCollectionRules", "2022-06-01",
    ("dataCollectionRuleName",),
)
DATA_COLLECTION_ENDPOINT: Final = _define(
    "azure-native:monitor:DataCollectionEndpoint", "Microsoft.Insights/dataCollectionEndpoints", "2022-06-01",
    ("dataCollectionEndpointName",),
)
# An association is an extension resource of the cluster; its ARM schema lists no `tags`.
DATA_COLLECTION_RULE_ASSOCIATION: Final = _define(
    "azure-native:monitor:DataCollectionRuleAssociation", "Microsoft.Insights/dataCollectionRuleAssociations", "2022-06-01",
    ("associationName",), scope_input="resourceUri",
    taggable=False,
)

# --- the engineers' way in (components/bastion.py) -------------------------------------------------------------

BASTION_HOST: Final = _define(
    "azure-native:network:BastionHost", f"{_NET}/bastionHosts", "2024-05-01", ("bastionHostName",),
    nested=("ipConfigurations[]",),
)
NETWORK_INTERFACE: Final = _define(
    "azure-native:network:NetworkInterface", f"{_NET}/networkInterfaces", "2024-05-01", ("networkInterfaceName",),
    nested=("ipConfigurations[]", "ipConfigurations[].subnet", "ipConfigurations[].publicIPAddress", "networkSecurityGroup"),
)
VIRTUAL_MACHINE: Final = _define(
    "azure-native:compute:VirtualMachine", "Microsoft.Compute/virtualMachines", "2024-11-01", ("vmName",),
    nested=("networkProfile.networkInterfaces[]",),
)
# `type` is the extension handler's type (properties.type), not the resource's.
VIRTUAL_MACHINE_EXTENSION: Final = _define(
    "azure-native:compute:VirtualMachineExtension", "Microsoft.Compute/virtualMachines/extensions", "2024-11-01",
    ("vmName", "vmExtensionName"), body_inputs=("type",),
)

# Type token -> entry: the one index every reader looks types up in.
CATALOG: Final[Mapping[str, AzureType]] = MappingProxyType({entry.token: entry for entry in _ENTRIES})
ENTRIES: Final[tuple[AzureType, ...]] = tuple(_ENTRIES)


def entry_of(token: str) -> AzureType | None:
    """The catalog entry of an azure-native type token, None for a token the program does not use."""
    return CATALOG.get(token)
