"""DatabricksNetwork: resource group, VNet, delegated subnets, NSGs and controlled egress.

Ownership: the VNet carries no inline subnets and the NSGs no inline rules. Subnets and the
rules this toolkit authors are standalone resources, so the rules Databricks injects into a
delegated subnet's NSG (Microsoft.Databricks-workspaces_UseOnly_*) are never fought or
deleted, and an update to the VNet or NSG never rewrites its children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import network, resources

from components._base import child, network_security_group, standard_public_ip
from components.planning.naming import NamePlan
from components.planning.nsg_rules import NsgRule

DATABRICKS_DELEGATION = "Microsoft.Databricks/workspaces"


@dataclass(frozen=True)
class DatabricksNetworkArgs:
    location: str
    tags: Mapping[str, str]
    resource_group_name: pulumi.Input[str]
    # The VNet's, its subnets', NSGs', NAT gateway's, public IP's and route table's names.
    names: NamePlan
    address_space: str
    host_cidr: str
    container_cidr: str
    endpoint_cidr: str
    workspace_rules: Sequence[NsgRule]
    endpoint_rules: Sequence[NsgRule]
    # One application security group per private-endpoint class (class -> ASG name); the endpoint rules name them.
    endpoint_asg_names: Mapping[str, str]
    egress_mode: Literal["nat_gateway", "firewall"]
    nat_idle_timeout_minutes: int
    # The hub firewall's private IP (an existing hub's from the spec, a created hub's from its firewall).
    firewall_private_ip: pulumi.Input[str] | None
    # The ingress tier's AKS subnet, when the toolkit creates the cluster (EnvironmentPlan.aks_cidr).
    aks_cidr: str | None = None
    # Its NSG (components/planning/nsg_rules.py aks_subnet_rules), created with the subnet.
    aks_rules: Sequence[NsgRule] = ()
    # Azure Virtual Network encryption (components/planning/vnet_encryption.py): None leaves it off.
    encryption_enforcement: Literal["AllowUnencrypted", "DropUnencrypted"] | None = None


class DatabricksNetwork(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    vnet_id: pulumi.Output[str]
    host_subnet_name: pulumi.Output[str]
    container_subnet_name: pulumi.Output[str]
    endpoint_subnet_id: pulumi.Output[str]
    workspace_subnets: list[network.Subnet]
    # ASG id per private-endpoint class: each endpoint of the class joins its class's ASG.
    endpoint_asg_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: DatabricksNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:network:DatabricksNetwork", name, {}, opts)
        tags = dict(args.tags)

        rg = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=args.resource_group_name, location=args.location, tags=tags,
            opts=child(self),
        )
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.names.virtual_network,
            resource_group_name=rg.name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            # Traffic between the VNet's VMs encrypted by the Azure hosts (DTLS) for supported sizes with Accelerated
            # Networking (https://learn.microsoft.com/azure/virtual-network/virtual-network-encryption-overview; ARM
            # Microsoft.Network/virtualNetworks properties.encryption {enabled, enforcement}).
            encryption=network.VirtualNetworkEncryptionArgs(enabled=True, enforcement=args.encryption_enforcement)
            if args.encryption_enforcement else None,
            tags=tags,
            opts=child(self),
        )
        nsg = network_security_group(self, f"{name}-nsg", args.names.network_security_group, args.workspace_rules, rg, args.location, tags)
        # The endpoint subnet's NSG admits each client to the endpoint classes it needs by naming the class's ASG
        # (components/planning/data_paths.py); Azure applies such a rule only to the NICs in the ASG
        # (https://learn.microsoft.com/azure/virtual-network/application-security-groups).
        asgs = {
            cls: network.ApplicationSecurityGroup(
                f"{name}-asg-{cls}", application_security_group_name=asg_name, resource_group_name=rg.name,
                location=args.location, tags=tags, opts=child(self),
            )
            for cls, asg_name in args.endpoint_asg_names.items()
        }
        self.endpoint_asg_ids = {cls: asg.id for cls, asg in asgs.items()}
        endpoint_nsg = network_security_group(self, f"{name}-pe-nsg", args.names.endpoint_network_security_group, args.endpoint_rules,
                                              rg, args.location, tags, asgs=asgs)

        nat_gateway: network.NatGateway | None = None
        route_table: network.RouteTable | None = None
        default_route: network.Route | None = None
        if args.egress_mode == "nat_gateway":
            pip = standard_public_ip(self, f"{name}-nat-pip", args.names.nat_public_ip, rg, args.location, tags)
            nat_gateway = network.NatGateway(
                f"{name}-nat",
                nat_gateway_name=args.names.nat_gateway,
                resource_group_name=rg.name,
                location=args.location,
                sku=network.NatGatewaySkuArgs(name="Standard"),
                idle_timeout_in_minutes=args.nat_idle_timeout_minutes,
                public_ip_addresses=[network.SubResourceArgs(id=pip.id)],
                tags=tags,
                opts=child(self),
            )
        else:
            route_table = network.RouteTable(
                f"{name}-rt",
                route_table_name=args.names.route_table,
                resource_group_name=rg.name,
                location=args.location,
                # Routes learned over BGP must not bypass the firewall.
                disable_bgp_route_propagation=True,
                tags=tags,
                opts=child(self),
            )
            default_route = network.Route(
                f"{name}-rt-default",
                route_name="default-via-firewall",
                route_table_name=route_table.name,
                resource_group_name=rg.name,
                address_prefix="0.0.0.0/0",
                next_hop_type="VirtualAppliance",
                next_hop_ip_address=args.firewall_private_ip,
                opts=child(self),
            )

        # Azure rejects concurrent writes to subnets of one VNet, so each subnet waits for the last.
        def workspace_subnet(role: str, subnet_name: str, cidr: str, after: list[pulumi.Resource]) -> network.Subnet:
            return network.Subnet(
                f"{name}-{role}",
                subnet_name=subnet_name,
                virtual_network_name=vnet.name,
                resource_group_name=rg.name,
                address_prefix=cidr,
                delegations=[network.DelegationArgs(name="databricks", service_name=DATABRICKS_DELEGATION)],
                network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                nat_gateway=network.SubResourceArgs(id=nat_gateway.id) if nat_gateway else None,
                route_table=network.RouteTableArgs(id=route_table.id) if route_table else None,
                default_outbound_access=False,
                opts=child(self, depends_on=after),
            )

        # With firewall egress the default route exists before any subnet uses the table: AKS's userDefinedRouting
        # outbound type requires a 0.0.0.0/0 route to an NVA in the subnet's route table and validates it
        # (https://learn.microsoft.com/azure/aks/egress-udr).
        host = workspace_subnet("host", args.names.host_subnet, args.host_cidr, [default_route] if default_route else [])
        container = workspace_subnet("container", args.names.container_subnet, args.container_cidr, [host])
        endpoints = network.Subnet(
            f"{name}-endpoints",
            subnet_name=args.names.private_endpoint_subnet,
            virtual_network_name=vnet.name,
            resource_group_name=rg.name,
            address_prefix=args.endpoint_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=endpoint_nsg.id),
            # NSG rules apply to private endpoint traffic only with endpoint network policies on.
            private_endpoint_network_policies="Enabled",
            default_outbound_access=False,
            opts=child(self, depends_on=[container]),
        )

        self.aks_subnet_id: pulumi.Output[str] | None = None
        # The last write to this VNet: a peering of the VNet waits for it.
        self.last_subnet: network.Subnet = endpoints
        if args.aks_cidr:
            assert args.aks_rules, "the AKS subnet always gets its NSG"
            # Pods (Azure CNI) and nodes of the ingress tier share this subnet; its NSG closes their path to the cluster
            # nodes, which the workspace NSG cannot (Databricks' priority-100 VirtualNetwork rule admits them there).
            aks_nsg = network_security_group(self, f"{name}-aks-nsg", args.names.aks_network_security_group, args.aks_rules, rg, args.location, tags)
            aks = network.Subnet(
                f"{name}-aks",
                subnet_name=args.names.aks_subnet,
                virtual_network_name=vnet.name,
                resource_group_name=rg.name,
                address_prefix=args.aks_cidr,
                network_security_group=network.NetworkSecurityGroupArgs(id=aks_nsg.id),
                # Network policies stay off for private endpoints here (Azure's default, stated): the API server's
                # private endpoint, which AKS places in this subnet, is not filtered by the NSG, so kubectl from
                # routed networks reaches it (https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy).
                private_endpoint_network_policies="Disabled",
                nat_gateway=network.SubResourceArgs(id=nat_gateway.id) if nat_gateway else None,
                route_table=network.RouteTableArgs(id=route_table.id) if route_table else None,
                default_outbound_access=False,
                opts=child(self, depends_on=[endpoints]),
            )
            self.aks_subnet_id = aks.id
            self.last_subnet = aks

        self.resource_group = rg
        self.vnet = vnet
        self.resource_group_name = rg.name
        self.resource_group_id = rg.id
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.host_subnet_name = host.name.apply(lambda n: n or args.names.host_subnet)
        self.container_subnet_name = container.name.apply(lambda n: n or args.names.container_subnet)
        self.endpoint_subnet_id = endpoints.id
        self.workspace_subnets = [host, container, endpoints]
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "vnetId": self.vnet_id,
                "endpointSubnetId": self.endpoint_subnet_id,
            }
        )
