"""The plan of one environment: what exists, every address range, every name. Pure, no Pulumi.

Decided once, from the spec (`components/spec/plan.py` reads the spec into it; `EnvironmentSpec.plan` caches it), and
read by everything that needs those facts: the environment component wires its children from it
(`components/environment.py`), and the report's trust-boundary views and reachability matrix
(`brickwall/report.py`), the reachability explorer and the log audit read the same plan instead of deciding again.
Whether the toolkit creates the AKS cluster, say, is `plan.parts.aks`, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from components.facts import AKS, CONTAINER, ENDPOINTS, HOST
from components.planning.addresses import SubnetPlan
from components.planning.combined import Ingress, Topology
from components.planning.firewall import HubNames, RuleCollectionGroup
from components.planning.front_end import FrontEnd
from components.planning.ingress import TierLayout
from components.planning.naming import NamePlan
from components.planning.reachability import NetworkInputs

# The NCC's storage targets: the workspace's DBFS root account and the lake (components/serverless.py StorageTarget key).
WORKSPACE_STORAGE_TARGET, LAKE_TARGET = "workspace-storage", "lake"


@dataclass(frozen=True)
class Parts:
    """Which optional parts the environment has."""

    ingress: bool  # the ingress tier (on the AKS cluster the toolkit creates, or on an existing cluster)
    aks: bool  # the toolkit creates the AKS cluster, and its subnet
    firewall_egress: bool  # egress through a hub firewall (else the NAT gateway)
    creates_hub: bool  # the toolkit creates that hub (else an existing hub's ids)
    transit: bool  # the transit VNet (for the front-end endpoints, browser authentication or the bastion)
    transit_endpoints: bool  # the front-end / browser-authentication private endpoints in the transit VNet
    bastion: bool  # Azure Bastion and the jump host, in the transit VNet
    customer_managed_keys: bool
    creates_key_vault: bool  # the Key Vault of the customer-managed keys is the toolkit's (not an existing one)
    lake: bool
    creates_lake: bool  # the lake's storage account is the toolkit's (not an existing one)
    sql: bool
    monitor_private_link: bool  # the Azure Monitor Private Link Scope (AMPLS)
    flow_logs: bool  # VNet flow logs, their storage account and traffic analytics
    siem: bool  # the SIEM export's Event Hub
    serverless_connectivity: bool  # serverless compute's network connectivity configuration (NCC)
    metastore: bool  # the Unity Catalog metastore assignment
    diagnostics: bool
    locks: bool

    @property
    def data_sources(self) -> bool:
        return self.lake or self.sql

    @property
    def serverless(self) -> bool:
        return self.serverless_connectivity or self.metastore


@dataclass(frozen=True)
class EnvironmentPlan:
    name: str
    region: str
    parts: Parts
    # --- address ranges
    subnets: SubnetPlan  # the workspace VNet's (HOST, CONTAINER, ENDPOINTS, and AKS's room)
    transit_endpoint_cidr: str | None  # the transit VNet's endpoint subnet, when the toolkit creates the VNet
    bastion_cidr: str | None
    jump_host_cidr: str | None
    hub_firewall_subnet_cidr: str | None  # the AzureFirewallSubnet of a hub the toolkit creates
    # --- names
    names: NamePlan
    hub_names: HubNames
    ncc_name: str | None  # the serverless NCC's name, when there is one
    # The storage accounts the NCC gets private endpoint rules to, by key (the workspace storage first); none without it.
    serverless_targets: tuple[str, ...]
    # --- what the network, the reachability matrix and the report read
    network: NetworkInputs  # the NSG tables' inputs (no peered ranges)
    front_end: FrontEnd  # the workspace front end (no corporate ranges)
    corporate: tuple[str, ...]  # the private ranges the spec names as ingress clients
    egress: str  # how pods and nodes leave the VNet, for the matrix's rows that end on the Internet
    firewall_private_ip: str | None  # the hub firewall's next hop, when the spec gives it
    firewall_rules: RuleCollectionGroup | None  # the rules this environment puts into the hub's policy
    tier: TierLayout | None  # the ingress tier's layout, when there is a tier
    load_balancer: Ingress | None  # the ingress load balancer, when the toolkit creates AKS
    diagnostic_kinds: tuple[str, ...]  # the audited resource kinds the environment creates (components/planning/diagnostics.py)

    def subnet(self, key: str) -> str:
        return str(self.subnets[key])

    @property
    def host_cidr(self) -> str:
        return self.subnet(HOST)

    @property
    def container_cidr(self) -> str:
        return self.subnet(CONTAINER)

    @property
    def endpoint_cidr(self) -> str:
        return self.subnet(ENDPOINTS)

    @property
    def aks_cidr(self) -> str | None:
        """The AKS subnet, when the toolkit creates the cluster (the address plan may only reserve its room)."""
        return self.subnet(AKS) if self.parts.aks else None

    @property
    def endpoint_classes(self) -> tuple[str, ...]:
        """The private-endpoint classes in the workspace VNet's endpoint subnet, in table order."""
        return self.network.endpoint_classes

    @property
    def endpoint_asg_names(self) -> dict[str, str]:
        """Each endpoint class's application security group, by class."""
        return {cls: f"{self.names.endpoint_application_security_group}-{cls}" for cls in self.endpoint_classes}

    def network_inputs(self, peered: Sequence[str] = ()) -> NetworkInputs:
        """The NSG matrix's inputs; `peered` are hub / on-premises ranges routed into the VNet."""
        return replace(self.network, peered=tuple(peered))

    def topology(self, peered: Sequence[str] = ()) -> Topology:
        """What the combined matrix reads: the corporate ranges the spec names, and any `peered` given."""
        corporate = tuple(dict.fromkeys([*self.corporate, *peered]))
        return Topology(net=self.network_inputs(corporate), front_end=replace(self.front_end, corporate=corporate),
                        egress=self.egress, ingress=self.load_balancer)
