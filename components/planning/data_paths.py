"""The data paths the design promises to the private endpoints of the workspace VNet. Pure data, no Pulumi.

Every private endpoint in the endpoint subnet belongs to one class, and each class has its own application
security group (ASG): the endpoint's IP configuration joins it (`PrivateEndpoint.applicationSecurityGroups`), and
the endpoint subnet's NSG admits each client to the classes it needs by naming that ASG as the rule's
destination (`destinationApplicationSecurityGroups`), never the whole subnet. Rules that name an ASG apply only to
the network interfaces in it (https://learn.microsoft.com/azure/virtual-network/application-security-groups);
private endpoints support ASGs (https://learn.microsoft.com/azure/private-link/configure-asg-private-endpoint),
and NSG rules apply to private-endpoint traffic only with network policies enabled on the subnet
(`privateEndpointNetworkPolicies`, https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy),
which components/network.py sets. One ASG may hold at most 50 private-endpoint IP configurations on that subnet's NSG
(https://learn.microsoft.com/azure/private-link/private-endpoint-overview#network-security-group); a class holds two.

| class               | endpoints (group id)  | exists when                            | cluster nodes              | connectors (AKS) |
|---------------------|-----------------------|----------------------------------------|----------------------------|------------------|
| `backend`           | databricks_ui_api     | private_link.backend                   | 443, 3306, 6666, 8443-8451 | 443              |
| `workspace-storage` | dfs, blob (DBFS root) | private_link.workspace_storage         | 443                        | closed           |
| `lake`              | dfs, blob (data lake) | data.lake.enabled                      | 443                        | closed           |
| `sql`               | sqlServer             | data.sql.enabled                       | 1433-65535 (TDS, below)    | closed           |
| `key-vault`         | vault                 | customer-managed keys, vault we create | closed (no cluster uses it)| closed           |
| `monitor`           | azuremonitor (AMPLS)  | monitoring.private_link.enabled        | closed                     | 443 (agent)      |
| `siem`              | namespace (Event Hub) | siem.event_hub and its private endpoint| closed                     | closed           |

Every other source (the Internet, the control plane, peered and on-premises ranges) reaches no endpoint here.

The Azure Monitor Private Link Scope's endpoint (`monitor`) carries Log Analytics ingestion where the workspace
refuses public ingestion: the Container Insights agent on the AKS nodes sends there on 443
(https://learn.microsoft.com/azure/azure-monitor/containers/kubernetes-monitoring-private-link). Cluster nodes send
nothing to Log Analytics (the workspace's diagnostic settings are delivered by Azure itself, not through the scope).
The SIEM Event Hub's endpoint (`siem`) is where a SIEM reads the export; Log Analytics writes to the namespace as a
trusted service, not through the endpoint (components/planning/audit_network.py), and no reader lives in this VNet,
so nothing here is promised a path to it.

The Key Vault holds the customer-managed key only: Azure Databricks, Storage and the disk encryption set unwrap it
as trusted services and the key is created through ARM (components/keys.py), so no cluster opens a connection to
the vault's endpoint and the design promises none.

Azure SQL over a private endpoint: with the Proxy connection policy a client needs only 1433; with Redirect,
which Microsoft recommends for private link, clients need "inbound communication to the VNET hosting the private
endpoint to port range 1433 to 65535" and must choose Redirect explicitly on the server
(https://learn.microsoft.com/azure/azure-sql/database/private-endpoint-overview, "Use Redirect connection policy with
private endpoints", MicrosoftDocs/sql-docs azure-sql/database/private-endpoint-overview.md; the same section: "Existing
private endpoints using Default connection policy shall be proxied i.e. they will use the Proxy connection policy with
port 1433"; the policies and the gateway on 1433:
https://learn.microsoft.com/azure/azure-sql/database/connectivity-architecture#connection-policy). The program
leaves the server's policy at Default: the pinned pulumi-azure-native 3.29.0 has no resource for
`Microsoft.Sql/servers/connectionPolicies`, so an operator may switch it to Redirect at any time outside the
program. The rule therefore admits 1433-65535, so both policies work, and only towards the SQL endpoint's ASG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

BACKEND, WORKSPACE_STORAGE, LAKE, SQL, KEY_VAULT = "backend", "workspace-storage", "lake", "sql", "key-vault"
MONITOR, SIEM = "monitor", "siem"
ENDPOINT_CLASSES = (BACKEND, WORKSPACE_STORAGE, LAKE, SQL, KEY_VAULT, MONITOR, SIEM)

# The private endpoints of each class, by the key the components register them under.
ENDPOINTS_OF_CLASS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    BACKEND: ("backend",),
    WORKSPACE_STORAGE: ("dfs", "blob"),
    LAKE: ("lake-dfs", "lake-blob"),
    SQL: ("sql",),
    KEY_VAULT: ("vault",),
    MONITOR: ("monitor",),
    SIEM: ("event-hub",),
})

# Ports the compute plane uses towards the back-end endpoint: REST API, secure cluster connectivity relay,
# metastore and the control plane's 8443-8451 (https://learn.microsoft.com/azure/databricks/security/network/classic/private-link).
BACKEND_PORTS = ("443", "3306", "6666", "8443-8451")
# TDS: 1433 (Proxy) and the Redirect range over private link (module docstring).
SQL_PORTS = ("1433-65535",)
HTTPS = ("443",)

# What the cluster nodes open on each class, and what the AKS nodes of the ingress tier open: the connectors the
# workspace API only, the Container Insights agent the monitoring scope's ingestion endpoints.
CLUSTER_PORTS: Mapping[str, tuple[str, ...]] = MappingProxyType({BACKEND: BACKEND_PORTS, WORKSPACE_STORAGE: HTTPS, LAKE: HTTPS,
                                                                 SQL: SQL_PORTS})
CONNECTOR_PORTS: Mapping[str, tuple[str, ...]] = MappingProxyType({BACKEND: HTTPS, MONITOR: HTTPS})


def present_classes(*, backend: bool, workspace_storage: bool, lake: bool, sql: bool, key_vault: bool,
                    monitor: bool = False, siem: bool = False) -> tuple[str, ...]:
    """The endpoint classes present, in table order (`reachability.endpoint_classes` reads them off a spec)."""
    present = {BACKEND: backend, WORKSPACE_STORAGE: workspace_storage, LAKE: lake, SQL: sql, KEY_VAULT: key_vault,
               MONITOR: monitor, SIEM: siem}
    return tuple(c for c in ENDPOINT_CLASSES if present[c])


@dataclass(frozen=True, order=True)
class DataPath:
    """One promised flow: a source subnet to every endpoint of a class, on a port or port range."""

    source: str  # the source subnet's CIDR
    endpoint_class: str
    port: str


def promised_paths(classes: tuple[str, ...], cluster_cidrs: tuple[str, ...], aks_cidr: str | None) -> frozenset[DataPath]:
    """Every path the design promises open; the matrix must hold each open and every other closed."""
    paths = {DataPath(src, cls, port) for cls in classes for src in cluster_cidrs for port in CLUSTER_PORTS.get(cls, ())}
    if aks_cidr is not None:
        paths |= {DataPath(aks_cidr, cls, port) for cls in classes for port in CONNECTOR_PORTS.get(cls, ())}
    return frozenset(paths)
