"""NSG rule tables. Pure data, no Pulumi.

One table per NSG holds both the rules Databricks injects into the delegated subnets'
NSG (owner "databricks": documented, evaluated, never created or deleted by us) and the
rules this toolkit authors (owner "toolkit": created as standalone SecurityRule resources).
The component creates the toolkit rows; the checks and the report read the same rows.

Which service tags and ports apply under each `requiredNsgRules` mode:

| rule (direction)                         | AllRules          | NoAzureDatabricksRules |
|------------------------------------------|-------------------|------------------------|
| worker-to-worker, VirtualNetwork any (in/out) | Databricks   | Databricks             |
| AzureDatabricks 443, 3306, 8443-8451 (out)| Databricks        | absent: back-end private link carries control-plane traffic |
| Sql 3306 (out)                           | Databricks        | Databricks             |
| Storage 443 (out)                        | Databricks        | Databricks             |
| EventHub 9093 (out)                      | Databricks        | Databricks             |
| AzureActiveDirectory 443 (out)           | toolkit, when outbound Internet is denied | same    |
| AzureFrontDoor.Frontend 443 (out)        | toolkit, when outbound Internet is denied | same    |
| Internet any (in), Deny                  | toolkit           | toolkit                |
| Internet any (out), Deny                 | toolkit, when the spec denies outbound Internet | same |

Secure cluster connectivity means no inbound rule from the control plane (the legacy
22 and 5557 inbound rules never appear).

The private-endpoint subnet's table (`private_endpoint_subnet_rules`) is built from the promise in
`components/planning/data_paths.py`: one allow per endpoint class and client, whose destination is the
class's application security group (`NsgRule.destination_asgs`), then a deny of everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.planning.data_paths import CLUSTER_PORTS, CONNECTOR_PORTS, ENDPOINT_CLASSES

Direction = Literal["Inbound", "Outbound"]
Access = Literal["Allow", "Deny"]
Protocol = Literal["*", "Tcp", "Udp"]
Owner = Literal["toolkit", "databricks"]

DATABRICKS_RULE_PREFIX = "Microsoft.Databricks-workspaces_UseOnly_"
# Priorities Databricks uses for what it injects; toolkit rules stay clear of them.
DATABRICKS_PRIORITY_RANGE = range(100, 200)
LOWEST_PRECEDENCE = 4096



@dataclass(frozen=True)
class NsgRule:
    name: str
    priority: int
    direction: Direction
    access: Access
    protocol: Protocol
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    destination_ports: tuple[str, ...]
    owner: Owner
    description: str
    source_ports: tuple[str, ...] = ("*",)
    # Application security groups (by endpoint class) the rule's destination is, instead of address prefixes:
    # the rule then applies only to the network interfaces in them. Azure takes one or the other, not both.
    destination_asgs: tuple[str, ...] = ()

    @property
    def created_by_toolkit(self) -> bool:
        return self.owner == "toolkit"


def _databricks(name: str, priority: int, direction: Direction, protocol: Protocol, dest: str, ports: tuple[str, ...], why: str) -> NsgRule:
    return NsgRule(
        name=DATABRICKS_RULE_PREFIX + name,
        priority=priority,
        direction=direction,
        access="Allow",
        protocol=protocol,
        sources=("VirtualNetwork",),
        destinations=(dest,),
        destination_ports=ports,
        owner="databricks",
        description=why,
    )


def databricks_injected_rules(required_nsg_rules: str) -> list[NsgRule]:
    """The rules Databricks adds to a delegated subnet's NSG under each mode."""
    rules = [
        _databricks("databricks-worker-to-worker-inbound", 100, "Inbound", "*", "VirtualNetwork", ("*",), "Cluster nodes talk to each other."),
        _databricks("databricks-worker-to-sql", 101, "Outbound", "Tcp", "Sql", ("3306",), "Default Hive metastore."),
        _databricks("databricks-worker-to-storage", 102, "Outbound", "Tcp", "Storage", ("443",), "Workspace storage, artifacts and logs."),
        _databricks("databricks-worker-to-worker-outbound", 103, "Outbound", "*", "VirtualNetwork", ("*",), "Cluster nodes talk to each other."),
        _databricks("databricks-worker-to-eventhub", 104, "Outbound", "Tcp", "EventHub", ("9093",), "Logs and telemetry."),
    ]
    if required_nsg_rules == "AllRules":
        rules.append(
            _databricks(
                "databricks-worker-to-databricks-cp", 105, "Outbound", "Tcp", "AzureDatabricks", ("443", "3306", "8443-8451"),
                "Control plane over public service tags (no back-end private link).",
            )
        )
    return rules


def workspace_subnet_rules(required_nsg_rules: str, allow_internet_outbound: bool) -> list[NsgRule]:
    """The full table for the NSG on the host and container subnets."""
    toolkit: list[NsgRule] = [
        NsgRule(
            name="deny-internet-inbound",
            priority=LOWEST_PRECEDENCE,
            direction="Inbound",
            access="Deny",
            protocol="*",
            sources=("Internet",),
            destinations=("*",),
            destination_ports=("*",),
            owner="toolkit",
            description="Secure cluster connectivity: nothing on the Internet opens a connection to cluster nodes.",
        )
    ]
    if not allow_internet_outbound:
        toolkit += [
            NsgRule(
                name="allow-entra-id-outbound", priority=200, direction="Outbound", access="Allow", protocol="Tcp",
                sources=("VirtualNetwork",), destinations=("AzureActiveDirectory",), destination_ports=("443",),
                owner="toolkit", description="Token exchange with Entra ID once other outbound Internet traffic is denied.",
            ),
            NsgRule(
                name="allow-frontdoor-outbound", priority=201, direction="Outbound", access="Allow", protocol="Tcp",
                sources=("VirtualNetwork",), destinations=("AzureFrontDoor.Frontend",), destination_ports=("443",),
                owner="toolkit", description="Databricks web assets served through Front Door.",
            ),
            NsgRule(
                name="deny-internet-outbound", priority=LOWEST_PRECEDENCE, direction="Outbound", access="Deny",
                protocol="*", sources=("*",), destinations=("Internet",), destination_ports=("*",),
                owner="toolkit", description="Controlled egress: only the service tags above and private endpoints are reachable.",
            ),
        ]
    return databricks_injected_rules(required_nsg_rules) + toolkit


def private_endpoint_subnet_rules(workspace_cidrs: tuple[str, ...], classes: tuple[str, ...],
                                  aks_cidr: str | None = None) -> list[NsgRule]:
    """NSG on the private-endpoint subnet: each client reaches only the endpoint classes the design promises it
    (components/planning/data_paths.py), by naming the class's application security group, never the subnet.

    Cluster nodes reach every class in `CLUSTER_PORTS` that exists; the ingress tier's nodes (when the toolkit
    creates its AKS subnet) reach the back-end endpoint on 443 for the connectors' API calls and nothing else;
    every other flow meets the final deny. Priorities are fixed per class, so a class coming or going never
    renumbers the others."""
    rules = [
        NsgRule(
            name=f"allow-workspace-to-{cls}", priority=200 + 10 * i, direction="Inbound", access="Allow", protocol="Tcp",
            sources=workspace_cidrs, destinations=(), destination_ports=CLUSTER_PORTS[cls], destination_asgs=(cls,),
            owner="toolkit", description=f"Cluster nodes reach the {cls} private endpoints.",
        )
        for i, cls in enumerate(ENDPOINT_CLASSES) if cls in classes and cls in CLUSTER_PORTS
    ]
    if aks_cidr is not None:
        rules += [
            NsgRule(
                name=f"allow-ingress-tier-to-{cls}", priority=300 + 10 * i, direction="Inbound", access="Allow", protocol="Tcp",
                sources=(aks_cidr,), destinations=(), destination_ports=CONNECTOR_PORTS[cls], destination_asgs=(cls,),
                owner="toolkit", description="Ingress connectors on the AKS nodes call the workspace API over its private endpoint.",
            )
            for i, cls in enumerate(ENDPOINT_CLASSES) if cls in classes and cls in CONNECTOR_PORTS
        ]
    return [
        *rules,
        NsgRule(
            name="deny-all-inbound", priority=LOWEST_PRECEDENCE, direction="Inbound", access="Deny", protocol="*",
            sources=("*",), destinations=("*",), destination_ports=("*",),
            owner="toolkit", description="Nothing else reaches the endpoints.",
        ),
    ]


def aks_subnet_rules(aks_cidr: str, workspace_cidrs: tuple[str, ...], endpoint_cidr: str,
                     client_sources: tuple[str, ...], frontend: str, ingress_ports: tuple[str, ...]) -> list[NsgRule]:
    """NSG on the ingress tier's AKS subnet (Azure CNI: nodes and pods both take addresses here).

    Why the path to the cluster nodes is closed here and not on the workspace subnets: Databricks injects
    `databricks-worker-to-worker-inbound` (priority 100, VirtualNetwork to VirtualNetwork, any) into the host and
    container subnets' NSG, and no rule of ours may precede priority 100 there, so that NSG admits anything in the VNet.
    Azure evaluates the source subnet's NSG outbound before the packet ever reaches the destination's NSG, and a deny
    there drops it (https://learn.microsoft.com/azure/virtual-network/network-security-group-how-it-works, "Outbound
    traffic"): the deny towards the host and container subnets below holds whatever Databricks injects.

    What AKS needs from a subnet NSG (AKS applies no NSG to its subnet and never edits one; "make sure the security
    rules in the NSGs allow traffic within the node CIDR range": MicrosoftDocs/azure-aks-docs
    articles/aks/concepts-network-legacy-cni.md; the custom-VNet table "Node CIDR / Pod CIDR, all protocols, all
    ports" and "Cluster Subnet to APIServer 443": articles/aks/concepts-network.md; "don't interfere with ... load
    balancer access, communication with the control plane, or egress": articles/aks/concepts-security.md):

    | direction | source            | destination       | ports    | why                                               |
    |-----------|-------------------|-------------------|----------|---------------------------------------------------|
    | out       | aks               | host, container   | any      | Deny: pods and nodes never reach cluster nodes    |
    | out       | aks               | aks               | any      | node to node, pod to pod, the API server (a)      |
    | out       | aks               | private endpoints | 443      | workspace API, Azure Monitor ingestion (b)        |
    | in        | host, container   | *                 | any      | Deny: cluster nodes never reach pods or nodes     |
    | in        | aks               | aks               | any      | node to node, pod to pod                          |
    | in        | AzureLoadBalancer | *                 | any      | the load balancer's health probes (168.63.129.16) |
    | in        | client ranges     | LB frontend       | 443 (80) | the ingress load balancer (c)                     |
    | in        | *                 | *                 | any      | Deny everything else                              |

    (a) AKS puts the API server's private endpoint in the first node pool's subnet (articles/aks/private-clusters.md).
    (b) data_paths.CONNECTOR_PORTS; the endpoint subnet's NSG narrows it to the classes by ASG.
    (c) the Service's loadBalancerSourceRanges; externalTrafficPolicy Local keeps the client's address; 80 only while
        ACME HTTP-01 challenges are answered.

    Other outbound flows (the Internet through NAT or the firewall, peered ranges) keep Azure's default rules: AKS's
    own egress requirements (https://learn.microsoft.com/azure/aks/outbound-rules-control-egress) are the egress
    layer's to filter. The API server's private endpoint itself is not filtered by this NSG: the AKS subnet leaves
    private-endpoint network policies disabled (components/network.py), so kubectl from routed networks reaches it.
    `frontend` is where the load balancer's frontend answers: the AKS subnet for an internal one (its private frontend
    takes an address there), `*` for a public one (its public address, unknown until AKS creates it)."""
    def rule(name: str, priority: int, direction: Direction, access: Access, protocol: Protocol, sources: tuple[str, ...],
             destinations: tuple[str, ...], ports: tuple[str, ...], why: str) -> NsgRule:
        return NsgRule(name=name, priority=priority, direction=direction, access=access, protocol=protocol, sources=sources,
                       destinations=destinations, destination_ports=ports, owner="toolkit", description=why)

    return [
        rule("deny-databricks-clusters-outbound", 200, "Outbound", "Deny", "*", (aks_cidr,), workspace_cidrs, ("*",),
             "Pods and nodes of the ingress tier never reach Databricks cluster nodes (closed here: the workspace NSG "
             "admits VirtualNetwork at priority 100)."),
        rule("allow-aks-subnet-outbound", 210, "Outbound", "Allow", "*", (aks_cidr,), (aks_cidr,), ("*",),
             "Node to node, pod to pod and to the API server's private endpoint (required by AKS)."),
        rule("allow-private-endpoints-outbound", 220, "Outbound", "Allow", "Tcp", (aks_cidr,), (endpoint_cidr,), ("443",),
             "Connectors call the workspace API, the monitoring agent sends to the Azure Monitor scope."),
        rule("deny-databricks-clusters-inbound", 200, "Inbound", "Deny", "*", workspace_cidrs, ("*",), ("*",),
             "Databricks cluster nodes never reach the ingress tier's pods or nodes."),
        rule("allow-aks-subnet-inbound", 210, "Inbound", "Allow", "*", (aks_cidr,), (aks_cidr,), ("*",),
             "Node to node and pod to pod (required by AKS)."),
        rule("allow-load-balancer-probes-inbound", 220, "Inbound", "Allow", "*", ("AzureLoadBalancer",), ("*",), ("*",),
             # "you must allow 168.63.129.16 ... The AzureLoadBalancer service tag identifies this source IP"
             # (https://learn.microsoft.com/azure/load-balancer/load-balancer-custom-probe-overview#probe-source-ip-address)
             "Azure Load Balancer health probes (required)."),
        rule("allow-ingress-clients-inbound", 230, "Inbound", "Allow", "Tcp", client_sources, (frontend,), ingress_ports,
             "Clients reach the ingress load balancer (its loadBalancerSourceRanges)."),
        rule("deny-all-inbound", LOWEST_PRECEDENCE, "Inbound", "Deny", "*", ("*",), ("*",), ("*",),
             "Nothing else reaches the AKS subnet."),
    ]


def rule_table_problems(rules: list[NsgRule]) -> list[str]:
    """Structural mistakes a table must never have: clashing priorities or names, toolkit rules in Databricks' range."""
    problems = []
    seen: dict[tuple[str, int], str] = {}
    names: set[str] = set()
    for rule in rules:
        key = (rule.direction, rule.priority)
        if key in seen:
            problems.append(f"{rule.name} and {seen[key]} share {rule.direction} priority {rule.priority}")
        seen[key] = rule.name
        if rule.name in names:
            problems.append(f"rule name {rule.name} appears twice")
        names.add(rule.name)
        if rule.created_by_toolkit and rule.priority in DATABRICKS_PRIORITY_RANGE:
            problems.append(f"{rule.name} uses priority {rule.priority}, reserved for rules Databricks injects")
        if not 100 <= rule.priority <= LOWEST_PRECEDENCE:
            problems.append(f"{rule.name} priority {rule.priority} is outside Azure's 100-4096")
    return problems


def bastion_subnet_rules(bastion_cidr: str) -> list[NsgRule]:
    """NSG on AzureBastionSubnet: exactly the rules Microsoft documents as required for Azure Bastion
    (https://learn.microsoft.com/azure/bastion/bastion-nsg), nothing more, and a deny of everything else inbound.

    | direction | source            | destination    | ports        | why                                        |
    |-----------|-------------------|----------------|--------------|--------------------------------------------|
    | in        | Internet          | subnet         | 443          | engineers' sessions (TLS, Entra sign-in)   |
    | in        | GatewayManager    | subnet         | 443          | Azure's control plane for Bastion          |
    | in        | AzureLoadBalancer | subnet         | 443          | health probes                              |
    | in        | VirtualNetwork    | VirtualNetwork | 8080, 5701   | Bastion's own data plane                   |
    | out       | *                 | VirtualNetwork | 22, 3389     | SSH/RDP to the target VMs                  |
    | out       | *                 | AzureCloud     | 443          | diagnostics and metering endpoints         |
    | out       | VirtualNetwork    | VirtualNetwork | 8080, 5701   | Bastion's own data plane                   |
    | out       | *                 | Internet       | 80           | session and certificate validation         |
    """
    def rule(name: str, priority: int, direction: Direction, protocol: Protocol, sources: tuple[str, ...],
             destinations: tuple[str, ...], ports: tuple[str, ...], why: str, access: Access = "Allow") -> NsgRule:
        return NsgRule(name=name, priority=priority, direction=direction, access=access, protocol=protocol, sources=sources,
                       destinations=destinations, destination_ports=ports, owner="toolkit", description=why)

    return [
        rule("allow-https-inbound", 200, "Inbound", "Tcp", ("Internet",), (bastion_cidr,), ("443",),
             "Engineers' Bastion sessions over TLS (required by Azure Bastion)."),
        rule("allow-gateway-manager-inbound", 210, "Inbound", "Tcp", ("GatewayManager",), (bastion_cidr,), ("443",),
             "Azure's control plane manages Bastion (required)."),
        rule("allow-load-balancer-inbound", 220, "Inbound", "Tcp", ("AzureLoadBalancer",), (bastion_cidr,), ("443",),
             "Azure load balancer health probes (required)."),
        rule("allow-bastion-host-communication-inbound", 230, "Inbound", "*", ("VirtualNetwork",), ("VirtualNetwork",),
             ("8080", "5701"), "Bastion's data-plane components talk to each other (required)."),
        rule("deny-all-inbound", LOWEST_PRECEDENCE, "Inbound", "*", ("*",), ("*",), ("*",),
             "Nothing else reaches the Bastion subnet.", access="Deny"),
        rule("allow-ssh-rdp-outbound", 200, "Outbound", "*", ("*",), ("VirtualNetwork",), ("22", "3389"),
             "Bastion opens SSH and RDP to the target VMs (required)."),
        rule("allow-azure-cloud-outbound", 210, "Outbound", "Tcp", ("*",), ("AzureCloud",), ("443",),
             "Diagnostics and metering endpoints (required)."),
        rule("allow-bastion-communication-outbound", 220, "Outbound", "*", ("VirtualNetwork",), ("VirtualNetwork",),
             ("8080", "5701"), "Bastion's data-plane components talk to each other (required)."),
        rule("allow-http-outbound", 230, "Outbound", "*", ("*",), ("Internet",), ("80",),
             "Session and certificate validation (required)."),
    ]


def jump_host_subnet_rules(bastion_cidr: str, jump_host_cidr: str) -> list[NsgRule]:
    """NSG on the jump host's subnet: SSH only from the Bastion subnet; every other inbound flow denied."""
    return [
        NsgRule(
            name="allow-ssh-from-bastion", priority=200, direction="Inbound", access="Allow", protocol="Tcp",
            sources=(bastion_cidr,), destinations=(jump_host_cidr,), destination_ports=("22",),
            owner="toolkit", description="Engineers reach the jump host only through Azure Bastion.",
        ),
        NsgRule(
            name="deny-all-inbound", priority=LOWEST_PRECEDENCE, direction="Inbound", access="Deny", protocol="*",
            sources=("*",), destinations=("*",), destination_ports=("*",),
            owner="toolkit", description="Nothing else reaches the jump host.",
        ),
    ]
